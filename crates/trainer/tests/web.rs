//! End-to-end tests of `trainer export --web`: runs trained by the real
//! binary, exported as static sites, served by a plain static file server
//! (`python3 -m http.server`), and read in headless Chromium with real
//! pointer input and dropped files; every reading is checked against
//! `trainer predict` of the same picture, and the page keeps reading once
//! the server is gone.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::browser::{Browser, browser_at_hand};
use common::{course_or_synthetic, free_port, ok, refused, text, train_one_epoch};
use serde_json::{Value, json};

/// Images read per class, per way of giving them (strokes, dropped file).
const PER_CLASS: usize = 2;

/// Whether this machine can build the WebAssembly reader; says what is
/// missing in one line (under CI: fails) where not.
fn wasm_at_hand() -> bool {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map(|o| text(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let target = Path::new(&sysroot).join("lib/rustlib/wasm32-unknown-unknown");
    let bindgen = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .is_ok();
    let python = Command::new("python3").arg("--version").output().is_ok();
    let here = target.is_dir() && bindgen && python;
    if !here {
        testdata::missing(testdata::NO_WASM);
    }
    here
}

/// `python3 -m http.server` on a free loopback port, serving `dir`; stopped
/// when dropped.
struct StaticServer {
    child: Child,
    url: String,
}

impl StaticServer {
    fn start(dir: &Path) -> StaticServer {
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .arg("--directory")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the static server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        StaticServer { child, url }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The page's last answer: the twelve probabilities in class order, and
/// the error it shows (if any).
fn last_answer(browser: &Browser) -> ([f64; 12], Option<String>) {
    let answer = browser.script(
        "const e = document.getElementById('error'); \
         return [window.hanzi12LastAnswer || null, e.hidden ? null : e.textContent];",
        json!([]),
    );
    if let Some(error) = answer[1].as_str() {
        return ([0.0; 12], Some(error.to_string()));
    }
    let mut p = [0.0; 12];
    for class in answer[0]["classes"].as_array().expect("an answer") {
        p[class["folder"].as_u64().unwrap() as usize - 1] = class["probability"].as_f64().unwrap();
    }
    (p, None)
}

/// Drops `file` on the pad, as a person dragging it from their files would.
fn drop_file(browser: &Browser, file: &Path) {
    let bytes = base64::engine::general_purpose::STANDARD.encode(std::fs::read(file).unwrap());
    let name = file.file_name().unwrap().to_str().unwrap();
    browser.script(
        "const [b64, name] = arguments; \
         const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)); \
         const data = new DataTransfer(); \
         data.items.add(new File([bytes], name, { type: 'image/bmp' })); \
         const pad = document.getElementById('pad'); \
         pad.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true })); \
         pad.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));",
        json!([bytes, name]),
    );
}

/// WebDriver pointer actions that write a 28x28 picture on the pad at
/// `rect`: each horizontal run of ink, row by row, as one pen stroke.
fn strokes_of(picture: &Path, rect: [f64; 4]) -> Value {
    let image = image::open(picture).unwrap().to_luma8();
    let [left, top, width, height] = rect;
    let cell = (width / 28.0, height / 28.0);
    let at = |x: f64, y: f64| {
        json!({
            "type": "pointerMove", "origin": "viewport", "duration": 0,
            "x": (left + cell.0 * (x + 0.5)).round() as i64,
            "y": (top + cell.1 * (y + 0.5)).round() as i64,
        })
    };
    let mut actions = Vec::new();
    for y in 0..28u32 {
        let mut x = 0;
        while x < 28 {
            if image.get_pixel(x, y).0[0] >= 128 {
                x += 1;
                continue;
            }
            let start = x;
            while x < 28 && image.get_pixel(x, y).0[0] < 128 {
                x += 1;
            }
            actions.push(at(start as f64, y as f64));
            actions.push(json!({ "type": "pointerDown", "button": 0 }));
            actions.push(at((x - 1) as f64, y as f64));
            actions.push(json!({ "type": "pointerUp", "button": 0 }));
        }
    }
    json!({ "actions": [{
        "type": "pointer", "id": "pen", "parameters": { "pointerType": "mouse" }, "actions": actions
    }]})
}

/// The page at `url`, loaded and ready to write on, and the pad's place.
fn open_site(url: &str) -> (Browser, [f64; 4]) {
    let (browser, rect) = Browser::open_page(url);
    let model = browser.script(
        "return document.getElementById('model').textContent;",
        json!([]),
    );
    assert!(
        model.as_str().unwrap().contains("in this browser"),
        "the page does not say it reads in the browser: {model}"
    );
    (browser, rect)
}

/// Writes `picture` on the pad as strokes; the page's answer, and the PNG
/// of what it read (the pad as it was read).
fn write(browser: &Browser, rect: [f64; 4], picture: &Path) -> ([f64; 12], Vec<u8>) {
    browser.script("document.getElementById('clear').click();", json!([]));
    browser.send("POST", "/actions", strokes_of(picture, rect));
    browser.send("DELETE", "/actions", json!({}));
    browser.wait_for_answer();
    let (p, error) = last_answer(browser);
    assert_eq!(error, None, "writing {}", picture.display());
    let url = browser.script(
        "return document.getElementById('ink').toDataURL('image/png');",
        json!([]),
    );
    let png = url
        .as_str()
        .unwrap()
        .trim_start_matches("data:image/png;base64,");
    let png = base64::engine::general_purpose::STANDARD
        .decode(png)
        .unwrap();
    (p, png)
}

/// `trainer predict` of `files` with `run`: every class's probability per file.
fn predicted(run: &Path, files: &[PathBuf], dir: &Path) -> Vec<[f64; 12]> {
    let csv = dir.join("predict.csv");
    let mut args = vec![
        "predict".to_string(),
        "--checkpoint".into(),
        run.display().to_string(),
        "--csv".into(),
        csv.display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    ok(&args, dir);
    std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            std::array::from_fn(|k| fields[4 + k].parse().unwrap())
        })
        .collect()
}

/// The site of `run` reads `pictures` written as strokes and dropped as
/// files as `trainer predict` reads the same pictures, and reads on once
/// its server is gone.
fn check_site(run: &Path, site: &Path, pictures: &[PathBuf], dir: &Path) {
    let mut server = StaticServer::start(site);
    let (browser, rect) = open_site(&server.url);
    let mut read = Vec::new();
    let mut files = Vec::new();
    for (i, picture) in pictures.iter().enumerate() {
        let (p, png) = write(&browser, rect, picture);
        let drawn = dir.join(format!("drawn-{i}.png"));
        std::fs::write(&drawn, png).unwrap();
        read.push(p);
        files.push(drawn);
        browser.script("document.getElementById('clear').click();", json!([]));
        drop_file(&browser, picture);
        browser.wait_for_answer();
        let (p, error) = last_answer(&browser);
        assert_eq!(error, None, "dropping {}", picture.display());
        read.push(p);
        files.push(picture.clone());
    }
    let expected = predicted(run, &files, dir);
    let mut worst = 0.0f64;
    for ((file, page), predict) in files.iter().zip(&read).zip(&expected) {
        for k in 0..12 {
            let gap = (page[k] - predict[k]).abs();
            worst = worst.max(gap);
            assert!(
                gap <= 1e-4,
                "{}: class {} page {} predict {}",
                file.display(),
                k + 1,
                page[k],
                predict[k]
            );
        }
    }
    eprintln!(
        "{}: {} readings equal predict's within {worst:.2e}",
        run.display(),
        files.len()
    );
    // The network is in the page: with the server gone it still reads.
    server.stop();
    let (p, png) = write(&browser, rect, &pictures[0]);
    let drawn = dir.join("after-stop.png");
    std::fs::write(&drawn, png).unwrap();
    let expected = predicted(run, &[drawn], dir);
    for k in 0..12 {
        assert!(
            (p[k] - expected[0][k]).abs() <= 1e-4,
            "after the server stopped"
        );
    }
    let shot = browser.send("GET", "/screenshot", json!({}));
    let shot = base64::engine::general_purpose::STANDARD
        .decode(shot.as_str().unwrap())
        .unwrap();
    let name = format!("web-{}.png", run.file_name().unwrap().to_str().unwrap());
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, shot).unwrap();
    eprintln!("screenshot: {}", path.display());
}

#[test]
fn exported_sites_read_in_the_browser_as_predict_does() {
    if !browser_at_hand() || !wasm_at_hand() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = course_or_synthetic(dir, 40);
    let pictures: Vec<PathBuf> = (1..=12)
        .flat_map(|k| (1..=PER_CLASS).map(move |n| (k, n)))
        .map(|(k, n)| data.join(k.to_string()).join(format!("{n}.bmp")))
        .collect();
    let mut wasm: Option<PathBuf> = None;
    for model in ["cnn_res", "mlp"] {
        let run = train_one_epoch(model, &data, dir);
        let site = dir.join(format!("site-{model}"));
        let mut args = vec![
            "export".to_string(),
            "--web".into(),
            "--checkpoint".into(),
            run.display().to_string(),
            "--out".into(),
            site.display().to_string(),
        ];
        // The first export builds the reader; the second takes it from the first site.
        if let Some(from) = &wasm {
            args.extend(["--wasm".to_string(), from.display().to_string()]);
        }
        let said = ok(&args, dir);
        assert!(said.contains("http.server"), "{said}");
        wasm.get_or_insert(site.clone());
        check_site(&run, &site, &pictures, dir);
    }
}

#[test]
fn export_web_refuses_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = course_or_synthetic(dir, 10);
    let run = train_one_epoch("mlp", &data, dir);
    let taken = dir.join("taken");
    std::fs::create_dir_all(&taken).unwrap();
    std::fs::write(taken.join("notes.txt"), "mine").unwrap();
    let no_wasm = dir.join("no-wasm");
    std::fs::create_dir_all(&no_wasm).unwrap();
    let export = |out: &Path, wasm: &Path| {
        refused(
            &[
                "export",
                "--web",
                "--checkpoint",
                run.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--wasm",
                wasm.to_str().unwrap(),
            ],
            dir,
        )
    };
    let error = export(&taken, &no_wasm);
    assert!(error.contains("hanzi12_web.js"), "{error}");
    // A folder of someone else's files is never replaced.
    std::fs::write(no_wasm.join("hanzi12_web.js"), "").unwrap();
    std::fs::write(no_wasm.join("hanzi12_web_bg.wasm"), "").unwrap();
    let error = export(&taken, &no_wasm);
    assert!(error.contains("not a site written by"), "{error}");
    assert_eq!(
        std::fs::read_to_string(taken.join("notes.txt")).unwrap(),
        "mine"
    );
    let error = refused(
        &["export", "--wasm", no_wasm.to_str().unwrap(), "--out", "x"],
        dir,
    );
    // clap names the missing --web on the line after this one.
    assert!(
        error.contains("required arguments were not provided"),
        "{error}"
    );
}

// --- Benchmark -----------------------------------------------------------------

/// Not a test: the numbers of docs/web.md. `cargo test --workspace --test
/// web -- --ignored --nocapture bench`: a cnn_res run's site, its size, the
/// time from page load to the first reading, and per-reading latency, beside
/// the same page on `trainer serve` (round trip), in the same Chromium.
#[test]
#[ignore]
fn bench_the_site_beside_serve() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = course_or_synthetic(dir, 60);
    let run = train_one_epoch("cnn_res", &data, dir);
    let site = dir.join("site");
    let args = [
        "export",
        "--web",
        "--checkpoint",
        run.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
    ];
    ok(&args, dir);
    let mut total_gz = 0;
    for entry in std::fs::read_dir(&site).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let gz = gzipped(&bytes);
        total_gz += gz;
        eprintln!(
            "{:<22} {:>9} bytes, {:>9} gzipped",
            path.file_name().unwrap().to_str().unwrap(),
            bytes.len(),
            gz
        );
    }
    eprintln!("site: {total_gz} bytes gzipped");
    let pictures: Vec<PathBuf> = (1..=12)
        .flat_map(|k| (1..=4).map(move |n| (k, n)))
        .map(|(k, n)| data.join(k.to_string()).join(format!("{n}.bmp")))
        .collect();
    let server = StaticServer::start(&site);
    for round in 0..3 {
        let browser = Browser::start();
        let started = Instant::now();
        browser.send("POST", "/url", json!({ "url": server.url }));
        browser.wait_for("return document.querySelectorAll('#bars li').length === 12");
        drop_file(&browser, &pictures[0]);
        browser.wait_for_answer();
        let wall = started.elapsed().as_secs_f64() * 1e3;
        let times = browser.script(
            "const ready = performance.getEntriesByName('hanzi12-reader-ready')[0]; \
             return [ready ? ready.startTime : null, performance.now()];",
            json!([]),
        );
        eprintln!(
            "site, load {round}: reader ready {:.0} ms after navigation, first reading shown by {:.0} ms (WebDriver's wall clock {wall:.0} ms)",
            times[0].as_f64().unwrap_or(f64::NAN),
            times[1].as_f64().unwrap()
        );
        if round == 2 {
            latencies("site (in the browser)", &browser, &pictures);
        }
    }
    let addr = format!("127.0.0.1:{}", free_port());
    let mut serve = common::trainer()
        .args([
            "serve",
            "--checkpoint",
            run.to_str().unwrap(),
            "--addr",
            &addr,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "trainer serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (browser, _) = Browser::open_page(&format!("http://{addr}/"));
    latencies("trainer serve (round trip)", &browser, &pictures);
    let _ = serve.kill();
    let _ = serve.wait();
}

/// Reads `pictures` (dropped, one at a time) and prints the median and 90th
/// percentile of the page's own timings: the reading (`ms`) and the round
/// trip from picture to answer.
fn latencies(what: &str, browser: &Browser, pictures: &[PathBuf]) {
    let (mut reading, mut round_trip) = (Vec::new(), Vec::new());
    for picture in pictures {
        browser.script("document.getElementById('clear').click();", json!([]));
        drop_file(browser, picture);
        browser.wait_for_answer();
        let answer = browser.script("return window.hanzi12LastAnswer;", json!([]));
        reading.push(answer["ms"].as_f64().unwrap());
        round_trip.push(answer["round_trip_ms"].as_f64().unwrap());
    }
    let centile = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    eprintln!(
        "{what}: {} readings, reading {:.2} ms median ({:.2} p90), round trip {:.2} ms median ({:.2} p90)",
        pictures.len(),
        centile(&mut reading, 0.5),
        centile(&mut reading, 0.9),
        centile(&mut round_trip, 0.5),
        centile(&mut round_trip, 0.9)
    );
}

/// `bytes` gzipped at the best level, as a static host would send them.
fn gzipped(bytes: &[u8]) -> usize {
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out.stdout.len()
}

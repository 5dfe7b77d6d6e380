//! End-to-end tests of `trainer serve`: the real binary on port 0, a run
//! trained in the test, HTTP from outside; and the page in a real browser
//! (Chromium through WebDriver) where one is installed.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;
use common::browser::{Browser, browser_at_hand, writing};
use common::{agent, course_or_synthetic, text, trainer};
use serde_json::{Value, json};

/// Runs `trainer` to the end; panics with its output if it fails.
fn run_ok(args: &[&str], cwd: &Path) -> String {
    let out = trainer().args(args).current_dir(cwd).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// A folder that lives as long as the test process (shared runs).
fn lasting_dir() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

fn synthetic_data(dir: &Path, per_class: usize) -> PathBuf {
    let root = dir.join("synthetic");
    let per_class = per_class.to_string();
    run_ok(
        &[
            "synth",
            "--out",
            root.to_str().unwrap(),
            "--per-class",
            &per_class,
        ],
        dir,
    );
    root
}

/// A small MLP run on course images (synthetic where there are none),
/// trained once for all the API tests.
fn api_run() -> &'static (PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = lasting_dir();
        let data = course_or_synthetic(&dir, 30);
        let run = dir.join("run");
        run_ok(
            &[
                "--model",
                "mlp",
                "--data",
                data.to_str().unwrap(),
                "--epochs",
                "15",
                "--artifacts",
                run.to_str().unwrap(),
            ],
            &dir,
        );
        (data, run)
    })
}

/// A running `trainer serve`, stopped when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
    stdout: std::thread::JoinHandle<String>,
}

fn serve(run: &Path, extra: &[&str]) -> Served {
    let mut child = trainer()
        .args([
            "serve",
            "--checkpoint",
            run.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("serve stopped before printing its address: {seen}");
        };
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    // Keep reading, so the server's last lines never meet a closed pipe.
    let stdout =
        std::thread::spawn(move || lines.map_while(Result::ok).fold(seen, |s, l| s + &l + "\n"));
    Served {
        child,
        addr,
        stdout,
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Status and JSON body of a request.
fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let response = match method {
        "GET" => agent.get(url).call(),
        "POST" => {
            let mut request = agent.post(url);
            if let Some(t) = content_type {
                request = request.header("Content-Type", t);
            }
            request.send(body)
        }
        _ => unreachable!(),
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    let json =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON ({status}): {body}"));
    (status, json)
}

fn predict(agent: &ureq::Agent, served: &Served, content_type: &str, body: &[u8]) -> Value {
    let (status, json) = call(
        agent,
        "POST",
        &served.url("/api/predict"),
        Some(content_type),
        body,
    );
    assert_eq!(status, 200, "{json}");
    json
}

/// The first course (or synthetic) image of each class.
fn one_per_class(data: &Path) -> Vec<PathBuf> {
    (1..=12)
        .map(|k| data.join(k.to_string()).join("1.bmp"))
        .collect()
}

/// A course image drawn large and off-centre on a bigger page, as a scan
/// or a canvas would have it.
fn on_a_page(bmp: &Path) -> Vec<u8> {
    let small = image::open(bmp).unwrap().to_luma8();
    let big = image::imageops::resize(&small, 196, 196, image::imageops::FilterType::Nearest);
    let mut page = image::GrayImage::from_pixel(300, 260, image::Luma([255]));
    image::imageops::overlay(&mut page, &big, 90, 20);
    testdata::png(page)
}

#[test]
fn serves_the_page_and_reads_images_as_predict_does() {
    let (data, run) = api_run();
    let served = serve(run, &[]);
    let agent = agent();

    for (path, kind) in [
        ("/", "text/html"),
        ("/app.js", "javascript"),
        ("/style.css", "text/css"),
    ] {
        let mut response = agent.get(&served.url(path)).call().unwrap();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(content_type.contains(kind), "{path}: {content_type}");
        assert!(!response.body_mut().read_to_string().unwrap().is_empty());
    }
    let (status, health) = call(&agent, "GET", &served.url("/api/health"), None, b"");
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, model) = call(&agent, "GET", &served.url("/api/model"), None, b"");
    assert_eq!(status, 200);
    assert_eq!(model["network"], "mlp");
    assert_eq!(model["backend"], "flex");
    assert!(model["parameters"].as_u64().unwrap() > 100_000, "{model}");
    assert!(
        model["validation_accuracy"].as_f64().unwrap() > 8.3,
        "{model}"
    );
    assert_eq!(model["classes"].as_array().unwrap().len(), 12);

    // Course files (28x28, taken as they are) and the same characters on a
    // larger page (normalised): the server's answers are predict's.
    let files = one_per_class(data);
    let tmp = tempfile::tempdir().unwrap();
    let mut pages = Vec::new();
    for (k, file) in files.iter().enumerate() {
        let page = tmp.path().join(format!("page-{}.png", k + 1));
        std::fs::write(&page, on_a_page(file)).unwrap();
        pages.push(page);
    }
    let csv = tmp.path().join("predict.csv");
    let mut args = vec![
        "predict",
        "--checkpoint",
        run.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ];
    let all: Vec<&PathBuf> = files.iter().chain(&pages).collect();
    args.extend(all.iter().map(|p| p.to_str().unwrap()));
    let stdout = run_ok(&args, tmp.path());
    assert!(stdout.contains("12 image(s) not 28x28"), "{stdout}");
    let expected: Vec<(String, f64)> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[2].to_string(), f[3].parse().unwrap())
        })
        .collect();
    let mut right = 0;
    for (i, path) in all.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let is_png = path.extension().unwrap() == "png";
        let answer = predict(
            &agent,
            &served,
            if is_png { "image/png" } else { "image/bmp" },
            &bytes,
        );
        let top = &answer["classes"][0];
        assert_eq!(
            top["character"].as_str().unwrap(),
            expected[i].0,
            "{}",
            path.display()
        );
        let p = top["probability"].as_f64().unwrap();
        assert!(
            (p - expected[i].1).abs() < 2e-6,
            "{}: {p} vs {}",
            path.display(),
            expected[i].1
        );
        // A normalising run (the default) normalises every picture; a raw-box
        // one only those that are not 28x28.
        let run_normalises = !model["normalise"].is_null();
        assert_eq!(answer["input"]["normalised"], run_normalises || is_png);
        assert_eq!(answer["input"]["pixels"].as_array().unwrap().len(), 784);
        assert_eq!(answer["model"], "mlp");
        if i < 12 {
            right += (top["folder"].as_u64().unwrap() as usize == i + 1) as usize;
        }
    }
    // Course images the network trained on come back as their characters.
    assert!(right >= 10, "{right} of 12 right");
}

/// A request written by hand on a raw socket; the status and JSON that came back.
fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    read_answer(&mut stream)
}

/// Reads one HTTP/1.1 answer: the head, then `Content-Length` bytes (the
/// connection may stay open after it).
fn read_answer(stream: &mut TcpStream) -> (u16, Value) {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buffer).expect("an answer in time");
        assert!(
            n > 0,
            "connection closed without an answer: {}",
            text(&bytes)
        );
        bytes.extend_from_slice(&buffer[..n]);
    };
    let head = text(&bytes[..head_end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no content-length in {head}"));
    while bytes.len() < head_end + length {
        let n = stream.read(&mut buffer).expect("the whole body in time");
        assert!(n > 0, "connection closed mid-body");
        bytes.extend_from_slice(&buffer[..n]);
    }
    let body = &bytes[head_end..head_end + length];
    (
        status,
        serde_json::from_slice(body).unwrap_or_else(|_| panic!("not JSON: {}", text(body))),
    )
}

#[test]
fn every_bad_request_gets_its_4xx_in_json_and_the_server_stays_up() {
    let (data, run) = api_run();
    let mut served = serve(run, &["--timeout-s", "2"]);
    let agent = agent();
    let good = std::fs::read(data.join("3/1.bmp")).unwrap();
    let real_png = testdata::png(image::GrayImage::from_pixel(64, 64, image::Luma([255])));
    // The start of a JPEG file (JFIF): refused from its magic bytes, unread.
    let mut jpeg = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    jpeg.extend(vec![0u8; 200]);
    let huge = testdata::hostile::huge_png(20_000);
    assert!(
        huge.len() < 1_000_000,
        "small on disk, under the body limit: {} bytes",
        huge.len()
    );
    let predict_url = served.url("/api/predict");
    let truncated = &real_png[..real_png.len() - 30];
    // (what, method, content type, body, status, words in the error)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a [u8], u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "empty body",
            "POST",
            Some("image/png"),
            b"".as_slice(),
            400,
            "empty",
        ),
        (
            "not an image",
            "POST",
            Some("image/png"),
            b"hello, server".as_slice(),
            400,
            "not an image",
        ),
        (
            "a JPEG",
            "POST",
            Some("image/jpeg"),
            &jpeg[..],
            415,
            "image/jpeg",
        ),
        (
            "a JPEG said to be a PNG",
            "POST",
            Some("image/png"),
            &jpeg[..],
            415,
            "JPG",
        ),
        (
            "no content type",
            "POST",
            None,
            &good[..],
            415,
            "Content-Type",
        ),
        (
            "BMP said to be PNG",
            "POST",
            Some("image/png"),
            &good[..],
            415,
            "says PNG",
        ),
        (
            "a truncated PNG",
            "POST",
            Some("image/png"),
            truncated,
            400,
            "truncated",
        ),
        (
            "a 20000x20000 PNG",
            "POST",
            Some("image/png"),
            &huge[..],
            422,
            "20000x20000",
        ),
        (
            "a wrong method",
            "GET",
            None,
            b"".as_slice(),
            405,
            "use POST",
        ),
    ];
    for (what, method, content_type, body, status, needle) in cases {
        let (got, json) = call(&agent, method, &predict_url, content_type, body);
        assert_eq!(got, status, "{what}: {json}");
        let error = json["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {json}"));
        assert!(error.contains(needle), "{what}: {error}");
        assert_eq!(json["status"], status, "{what}");
        // The next request is served.
        assert_eq!(
            predict(&agent, &served, "image/bmp", &good)["model"],
            "mlp",
            "after {what}"
        );
    }
    let (status, json) = call(&agent, "GET", &served.url("/etc/passwd"), None, b"");
    assert_eq!(status, 404, "{json}");
    assert!(json["error"].as_str().unwrap().contains("/etc/passwd"));
    let (status, json) = call(
        &agent,
        "POST",
        &served.url("/api/model"),
        Some("image/png"),
        &good,
    );
    assert_eq!(status, 405, "{json}");

    // A body over the limit is refused from its declared length, unread.
    let head = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 2000001\r\n\r\n";
    let (status, json) = raw(served.addr, head, b"");
    assert_eq!(status, 413, "{json}");
    assert!(json["error"].as_str().unwrap().contains("2 MB"), "{json}");

    // A body sent slowly that stops: a 408 within the timeout, then the next is served.
    let started = Instant::now();
    let head = format!(
        "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/bmp\r\nContent-Length: {}\r\n\r\n",
        good.len()
    );
    let (status, json) = raw(served.addr, &head, &good[..good.len() / 3]);
    assert_eq!(status, 408, "{json}");
    assert!(
        json["error"].as_str().unwrap().contains("in time"),
        "{json}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(predict(&agent, &served, "image/bmp", &good)["model"], "mlp");
    assert!(
        served.child.try_wait().unwrap().is_none(),
        "the server is still running"
    );
}

/// The same top character and every probability within 1e-5: flex's
/// matrix products round the last bits differently at other batch sizes.
fn assert_same_answer(batched: &Value, alone: &Value, image: usize) {
    assert_eq!(batched[0]["folder"], alone[0]["folder"], "image {image}");
    let by_folder = |v: &Value| {
        let mut p = [0.0; 12];
        for c in v.as_array().unwrap() {
            p[c["folder"].as_u64().unwrap() as usize - 1] = c["probability"].as_f64().unwrap();
        }
        p
    };
    let (b, a) = (by_folder(batched), by_folder(alone));
    for k in 0..12 {
        assert!(
            (b[k] - a[k]).abs() <= 1e-5,
            "image {image}, class {}: {} vs {}",
            k + 1,
            b[k],
            a[k]
        );
    }
}

#[test]
fn concurrent_requests_get_the_answers_single_requests_get() {
    let (data, run) = api_run();
    let served = serve(run, &["--max-batch", "16", "--max-wait-ms", "5"]);
    let mut bodies: Vec<(&str, Vec<u8>)> = Vec::new();
    for k in 1..=12 {
        for n in 1..=3 {
            bodies.push((
                "image/bmp",
                std::fs::read(data.join(format!("{k}/{n}.bmp"))).unwrap(),
            ));
        }
        bodies.push(("image/png", on_a_page(&data.join(format!("{k}/1.bmp")))));
    }
    let alone = agent();
    let single: Vec<Value> = bodies
        .iter()
        .map(|(t, b)| {
            let answer = predict(&alone, &served, t, b);
            assert_eq!(answer["batch"], 1);
            answer["classes"].clone()
        })
        .collect();
    let clients = 12;
    let batches: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (bodies, single, served) = (&bodies, &single, &served);
                scope.spawn(move || {
                    let agent = agent();
                    let mut batches = Vec::new();
                    for i in 0..bodies.len() {
                        let j = (i + 5 * c) % bodies.len();
                        let answer = predict(&agent, served, bodies[j].0, &bodies[j].1);
                        assert_same_answer(&answer["classes"], &single[j], j);
                        batches.push(answer["batch"].as_u64().unwrap());
                    }
                    batches
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let largest = batches.iter().max().unwrap();
    assert!(
        *largest > 1 && *largest <= 16,
        "passes of up to {largest} images"
    );
}

#[test]
fn ctrl_c_finishes_the_request_in_flight_and_exits_0() {
    let (data, run) = api_run();
    let mut served = serve(run, &[]);
    let good = std::fs::read(data.join("7/1.bmp")).unwrap();
    let mut stream = TcpStream::connect(served.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/bmp\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        good.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&good[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(&good[10..]).unwrap();
    let (status, json) = read_answer(&mut stream);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["model"], "mlp");
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = served.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "still running after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    let stdout = std::mem::replace(&mut served.stdout, std::thread::spawn(String::new));
    assert!(stdout.join().unwrap().contains("stopped"));
}

#[test]
fn serve_refuses_bad_flags_in_one_line() {
    let (_, run) = api_run();
    let dir = tempfile::tempdir().unwrap();
    let r = run.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["serve"], "no trained run under artifacts/"),
        (&["serve", "--checkpoint", "no/such/run"], "no/such/run"),
        (
            &["serve", "--checkpoint", r, "--addr", "localhost"],
            "--addr localhost",
        ),
        (
            &["serve", "--checkpoint", r, "--max-batch", "0"],
            "--max-batch 0",
        ),
        (
            &["serve", "--checkpoint", r, "--max-wait-ms", "5000"],
            "--max-wait-ms 5000",
        ),
        (
            &["serve", "--checkpoint", r, "--backend", "tpu"],
            "unknown backend 'tpu'",
        ),
    ];
    for (args, needle) in cases {
        let out = trainer()
            .args(*args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: expected '{needle}' in {stderr}"
        );
    }
    // Without --checkpoint, the newest run under artifacts/.
    let artifacts = dir.path().join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    copy_run(run, &artifacts.join("mlp-older"));
    std::thread::sleep(Duration::from_millis(20));
    copy_run(run, &artifacts.join("mlp-newer"));
    let mut child = trainer()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.contains("mlp-newer"), "{first}");
    assert!(first.contains("validation accuracy"), "{first}");
}

/// `serve-bench` starts the server, drives it with each number of clients
/// and reports every request it sent (figures only: nothing about speed is
/// asserted); a client count of 0 is refused in one line.
#[test]
fn serve_bench_reports_each_load() {
    let (_, run) = api_run();
    let dir = tempfile::tempdir().unwrap();
    let r = run.to_str().unwrap();
    let json = run_ok(
        &[
            "serve-bench",
            "--checkpoint",
            r,
            "--clients",
            "1,3",
            "--requests",
            "12",
            "--json",
        ],
        dir.path(),
    );
    let loads: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(loads.len(), 2, "{json}");
    for (load, clients) in loads.iter().zip([1, 3]) {
        assert_eq!(load["clients"], clients, "{load}");
        assert_eq!(load["requests"], 12, "{load}");
        assert!(load["requests_per_s"].as_f64().unwrap() > 0.0, "{load}");
        assert!(load["p99_ms"].as_f64().unwrap() >= load["p50_ms"].as_f64().unwrap());
        assert!(load["mean_batch"].as_f64().unwrap() >= 1.0, "{load}");
    }
    let out = trainer()
        .args(["serve-bench", "--checkpoint", r, "--clients", "0"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success() && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(stderr.contains("--clients"), "{stderr}");
}

/// A run folder written before recipes (format 1, `fixtures/run-v1`) serves.
#[test]
fn a_run_folder_of_format_1_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run-v1");
    copy_run(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-v1"),
        &run,
    );
    let served = serve(&run, &[]);
    let (status, model) = call(&agent(), "GET", &served.url("/api/model"), None, b"");
    assert_eq!(status, 200, "{model}");
    assert_eq!(model["network"], "mlp", "{model}");
}

fn copy_run(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for file in ["config.json", "metrics.csv", "model.bpk"] {
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
}

// --- The page in a browser ---------------------------------------------------

/// A cnn_res run on the built-in synthetic handwriting, small enough to
/// train in a test.
fn synthetic_run() -> PathBuf {
    let dir = lasting_dir();
    let data = synthetic_data(&dir, 150);
    let run = dir.join("run");
    run_ok(
        &[
            "--model",
            "cnn_res",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "3",
            "--augment",
            "none",
            "--artifacts",
            run.to_str().unwrap(),
        ],
        &dir,
    );
    run
}

#[test]
fn the_page_reads_characters_written_on_it_with_pointer_events() {
    if !browser_at_hand() {
        return;
    }
    let run = synthetic_run();
    let served = serve(&run, &[]);
    let (browser, rect) = Browser::open_page(&served.url("/"));
    let mut read = String::new();
    for &character in &dataset::CHARACTERS {
        browser.script("document.getElementById('clear').click();", json!([]));
        browser.send("POST", "/actions", writing(character, rect));
        browser.send("DELETE", "/actions", json!({}));
        browser.wait_for_answer();
        let top = browser.script(
            "return document.getElementById('top-char').textContent;",
            json!([]),
        );
        read.push(top.as_str().unwrap().chars().next().unwrap());
    }
    let right = dataset::CHARACTERS
        .iter()
        .zip(read.chars())
        .filter(|(a, b)| *a == b)
        .count();
    eprintln!(
        "wrote {}, the page read {read}: {right} of 12",
        String::from_iter(dataset::CHARACTERS)
    );
    // The last character stays on the page for the screenshot.
    let shot = browser.send("GET", "/screenshot", json!({}));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot.as_str().unwrap())
        .unwrap();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-page.png");
    std::fs::write(&path, &png).unwrap();
    eprintln!("screenshot: {}", path.display());
    assert!(image::load_from_memory(&png).unwrap().width() >= 800);
    assert!(right >= 10, "read {read}: {right} of 12 right");
}

/// Ink pixels on the pad, and dark pixels in the 28x28 image the server
/// answered with (what the network saw).
const INK_COUNTS: &str = "const count = (id, dark) => { const c = document.getElementById(id); \
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; \
    for (let i = 0; i < d.length; i += 4) if (dark(d, i)) n++; return n; }; \
    return [count('ink', (d, i) => d[i + 3] > 0), count('seen', (d, i) => d[i + 3] > 0 && d[i] < 128)];";

/// A tap (down and up without moving) and a move by zero pixels each draw a
/// dot, which the server sees; Undo takes the dots away one by one.
#[test]
fn a_tap_draws_a_dot_that_the_server_sees_and_undo_removes() {
    if !browser_at_hand() {
        return;
    }
    let (_, run) = api_run();
    let served = serve(run, &[]);
    let (browser, [left, top, width, height]) = Browser::open_page(&served.url("/"));
    let at = |x: f64, y: f64| {
        json!({ "type": "pointerMove", "origin": "viewport", "duration": 0,
                "x": (left + width * x).round() as i64, "y": (top + height * y).round() as i64 })
    };
    let (down, up) = (
        json!({ "type": "pointerDown", "button": 0 }),
        json!({ "type": "pointerUp", "button": 0 }),
    );
    let strokes = [
        // A tap.
        vec![at(0.35, 0.5), down.clone(), up.clone()],
        // Down, a move to the very same pixel, up.
        vec![at(0.65, 0.5), down, at(0.65, 0.5), up],
    ];
    let mut ink = Vec::new();
    for actions in strokes {
        browser.send(
            "POST",
            "/actions",
            json!({ "actions": [{ "type": "pointer", "id": "pen",
                "parameters": { "pointerType": "mouse" }, "actions": actions }]}),
        );
        browser.send("DELETE", "/actions", json!({}));
        browser.wait_for_answer();
        let counts: [u64; 2] =
            serde_json::from_value(browser.script(INK_COUNTS, json!([]))).unwrap();
        ink.push(counts);
    }
    let strokes = browser.script(
        "return document.getElementById('undo').disabled;",
        json!([]),
    );
    assert_eq!(strokes, json!(false), "Undo has strokes to take back");
    let [one, two] = [ink[0], ink[1]];
    assert!(one[0] > 20, "a tap drew no dot: {ink:?}");
    assert!(one[1] > 0, "the server saw no ink after a tap: {ink:?}");
    assert!(
        two[0] > one[0] * 3 / 2,
        "a zero-pixel move drew no second dot: {ink:?}"
    );
    browser.script("document.getElementById('undo').click();", json!([]));
    let after: [u64; 2] = serde_json::from_value(browser.script(INK_COUNTS, json!([]))).unwrap();
    assert_eq!(
        after[0], one[0],
        "Undo took back the second dot: {ink:?} then {after:?}"
    );
    browser.script("document.getElementById('undo').click();", json!([]));
    let after: [u64; 2] = serde_json::from_value(browser.script(INK_COUNTS, json!([]))).unwrap();
    assert_eq!(after[0], 0, "Undo took back the first dot");
}

/// Reads `stream` until the server closes it (or `deadline` passes); what
/// it sent, and whether it closed.
fn read_until_closed(stream: &mut TcpStream, deadline: Instant) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&got).into_owned(), false);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // A reset is the server closing too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true);
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

/// A few hundred connections that never finish their headers are closed
/// once `--header-timeout-s` passes, a good request is answered meanwhile,
/// and a connection beyond `--max-connections` is answered 503 at once.
#[test]
fn slow_headers_are_cut_off_and_open_connections_are_capped() {
    const SLOW: usize = 300;
    let (data, run) = api_run();
    let served = serve(
        run,
        &[
            "--header-timeout-s",
            "10",
            "--max-connections",
            &(SLOW + 1).to_string(),
        ],
    );
    let opened = Instant::now();
    let mut slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| {
            let mut stream = TcpStream::connect(served.addr).unwrap();
            stream
                .write_all(b"POST /api/predict HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    // The one place left is a good client's.
    let bmp = std::fs::read(data.join("3").join("1.bmp")).unwrap();
    let answer = predict(&agent(), &served, "image/bmp", &bmp);
    assert_eq!(answer["classes"].as_array().unwrap().len(), 12, "{answer}");
    // The good client has closed its connection; then every place is taken
    // and the next connection is refused at once.
    std::thread::sleep(Duration::from_millis(300));
    let mut held = TcpStream::connect(served.addr).unwrap();
    held.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut over = TcpStream::connect(served.addr).unwrap();
    let (refusal, closed) = read_until_closed(&mut over, Instant::now() + Duration::from_secs(10));
    assert!(closed && refusal.starts_with("HTTP/1.1 503"), "{refusal}");
    assert!(refusal.contains("--max-connections"), "{refusal}");
    // Every slow connection is closed within a minute (10 s after it opened).
    let deadline = opened + Duration::from_secs(60);
    for stream in slow.iter_mut().chain([&mut held]) {
        let (_, closed) = read_until_closed(stream, deadline);
        assert!(
            closed,
            "a connection without its headers stayed open for a minute"
        );
    }
    assert!(opened.elapsed() < Duration::from_secs(60));
    // And the server still answers once they are gone.
    let answer = predict(&agent(), &served, "image/bmp", &bmp);
    assert_eq!(answer["classes"].as_array().unwrap().len(), 12, "{answer}");
}

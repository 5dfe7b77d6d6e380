//! `trainer board` in headless Chromium: it lists the runs of a folder,
//! draws their curves, filters them by setting, shows a sweep's report, and
//! shows a new epoch of a run in progress within seconds of its row.

mod common;

use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Instant;

use common::browser::{Browser, browser_at_hand};
use common::{agent, course_or_synthetic, ok, trainer};

/// `trainer board` on `artifacts`, stopped when dropped.
struct Board {
    child: Child,
    url: String,
}

impl Board {
    fn start(artifacts: &Path) -> Board {
        let mut child = trainer()
            .args([
                "board",
                "--artifacts",
                artifacts.to_str().unwrap(),
                "--addr",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines
            .next()
            .expect("the board says where it listens")
            .unwrap();
        let url = line
            .split("open ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        std::thread::spawn(move || lines.for_each(drop));
        Board { child, url }
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An MLP run of `epochs` epochs with learning rate `lr` into `dir`.
fn train(data: &Path, dir: &Path, lr: &str, epochs: &str) {
    let (data, dir) = (data.to_str().unwrap(), dir.to_str().unwrap());
    ok(
        &[
            "--model",
            "mlp",
            "--hidden",
            "32",
            "--data",
            data,
            "--epochs",
            epochs,
            "--lr",
            lr,
            "--artifacts",
            dir,
        ],
        Path::new("."),
    );
}

#[test]
fn the_board_lists_draws_filters_and_follows_a_training_run() {
    if !browser_at_hand() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 8);
    let artifacts = tmp.path().join("artifacts");
    train(&data, &artifacts.join("slow"), "0.001", "3");
    train(&data, &artifacts.join("fast"), "0.01", "3");
    let sweep = artifacts.join("sweeps/s");
    let data_arg = data.to_str().unwrap();
    ok(
        &[
            "sweep",
            "s",
            "--model",
            "mlp",
            "--hidden",
            "16",
            "--data",
            data_arg,
            "--epochs",
            "2",
            "--search",
            "lr=log:1e-3:1e-2",
            "--trials",
            "2",
            "--out",
            sweep.to_str().unwrap(),
        ],
        tmp.path(),
    );
    // A run in progress: two epochs of three written, its lock held as a
    // training process holds it.
    let live = artifacts.join("live");
    train(&data, &live, "0.003", "3");
    let metrics = std::fs::read_to_string(live.join("metrics.csv")).unwrap();
    let (first, third): (Vec<&str>, Vec<&str>) =
        metrics.lines().partition(|l| !l.starts_with("3,"));
    std::fs::write(live.join("metrics.csv"), first.join("\n") + "\n").unwrap();
    let lock = std::fs::File::open(live.join("lock")).unwrap();
    lock.lock().unwrap();

    let board = Board::start(&artifacts);
    let (status, _) = call(&format!("{}api/metrics?id=../etc", board.url));
    assert_eq!(status, 400);
    let browser = Browser::start();
    browser.send("POST", "/url", json!({ "url": board.url }));
    // Five runs: two, two trials of the sweep, and the live one.
    browser.wait_for("return document.querySelectorAll('#runs tbody tr').length === 5");
    let row = |id: &str| {
        browser.script(
            "const r = document.querySelector(`#runs tr[data-run='${arguments[0]}']`); return r ? r.innerText : '';",
            json!([id]),
        )
    };
    assert!(
        row("live").as_str().unwrap().contains("training"),
        "{}",
        row("live")
    );
    assert!(
        row("live").as_str().unwrap().contains("2/3"),
        "{}",
        row("live")
    );
    // A run's name opens to its whole recipe.
    let recipe = browser.script(
        "const d = document.querySelector(`#runs tr[data-run='fast'] details`); d.open = true; return d.querySelector('pre').textContent;",
        json!([]),
    );
    assert!(recipe.as_str().unwrap().contains("lr = 0.01"), "{recipe}");
    assert!(
        recipe.as_str().unwrap().contains("model.network = mlp"),
        "{recipe}"
    );
    // Every run's validation curve is drawn.
    browser.wait_for("return (window.hanzi12Board.drawn || []).length === 5");
    let painted = browser.script(
        "const c = document.getElementById('chart'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;",
        json!([]),
    );
    assert!(painted.as_u64().unwrap() > 500, "{painted}");
    // The sweep's report is shown.
    browser.wait_for("return document.querySelectorAll('.sweep img').length === 1 && document.querySelector('.sweep img').naturalWidth > 0");
    // Filtered by a setting.
    browser.script("const f = document.getElementById('filter'); f.value = 'lr=0.01'; f.dispatchEvent(new Event('input'));", json!([]));
    browser.wait_for("return document.querySelectorAll('#runs tbody tr').length === 1");
    assert!(row("fast").as_str().unwrap().contains("fast"));
    browser.script("const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input'));", json!([]));
    browser.wait_for("return document.querySelectorAll('#runs tbody tr').length === 5");

    // The third epoch's rows arrive: the board shows them within seconds.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(live.join("metrics.csv"))
        .unwrap();
    file.write_all((third.join("\n") + "\n").as_bytes())
        .unwrap();
    let written = Instant::now();
    browser.wait_for(
        "const d = (window.hanzi12Board.drawn || []).find((l) => l.id === 'live'); return !!d && d.points.length === 3;",
    );
    let seconds = written.elapsed().as_secs_f64();
    assert!(seconds < 6.0, "the new epoch took {seconds:.1} s to show");
    eprintln!("board: a new epoch shown {seconds:.2} s after its row");
    drop(lock);
}

/// A GET's status and JSON body.
fn call(url: &str) -> (u16, serde_json::Value) {
    let mut response = agent()
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let body = response.body_mut().read_to_string().unwrap();
    (
        response.status().as_u16(),
        serde_json::from_str(&body).unwrap(),
    )
}

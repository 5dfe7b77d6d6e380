//! A headless Chromium driven through WebDriver (`chromedriver`), with real
//! pointer input: what the page tests (`serve.rs`, `web.rs`) share.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::agent;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A WebDriver session with a headless Chromium, ended when dropped.
pub struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub fn start() -> Browser {
        let port = super::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let agent = agent();
        let deadline = Instant::now() + Duration::from_secs(30);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            base,
            agent,
            _profile: profile,
        };
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1080,900",
            "--hide-scrollbars",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!(
            "--user-data-dir={}",
            browser._profile.path().display()
        )])
        .collect::<Vec<_>>();
        let session = browser.send(
            "POST",
            "/session",
            json!({
                "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
                }}
            }),
        );
        let id = session["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("{session}"))
            .to_string();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    pub fn send(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string().as_bytes()),
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let json: Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(status, 200, "{method} {path}: {json}");
        json["value"].clone()
    }

    pub fn script(&self, source: &str, args: Value) -> Value {
        self.send(
            "POST",
            "/execute/sync",
            json!({ "script": source, "args": args }),
        )
    }

    /// Polls `condition` (a script returning true) for up to 20 s.
    pub fn wait_for(&self, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.script(condition, json!([])) != json!(true) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {condition}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A browser on the page at `url`, its bars built (the model loaded),
    /// ready to write on; and the pad's place (left, top, width, height in
    /// CSS pixels).
    pub fn open_page(url: &str) -> (Browser, [f64; 4]) {
        let browser = Browser::start();
        browser.send("POST", "/url", json!({ "url": url }));
        browser.wait_for("return document.querySelectorAll('#bars li').length === 12");
        let rect: Vec<f64> = serde_json::from_value(browser.script(
            "const r = document.getElementById('ink').getBoundingClientRect(); return [r.left, r.top, r.width, r.height];",
            json!([]),
        ))
        .unwrap();
        (browser, [rect[0], rect[1], rect[2], rect[3]])
    }

    /// Waits until the page shows its answer to its latest picture.
    pub fn wait_for_answer(&self) {
        self.wait_for(
            "const b = document.body.dataset; return b.state === 'idle' && b.answered === b.version && b.version !== '0';",
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let url = self.base.clone();
        let _ = self.agent.delete(&url).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The stroke centre-lines of a character: lists of (x, y) points on the
/// 1024-unit glyph box, y pointing down.
pub fn medians(character: char) -> Vec<Vec<(f64, f64)>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/hanzi-strokes")
        .join(format!("{character}.json"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["medians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stroke| {
            stroke
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), 900.0 - p[1].as_f64().unwrap()))
                .collect()
        })
        .collect()
}

/// WebDriver pointer actions that write `character` on a pad at `rect`
/// (left, top, width, height in CSS pixels): each stroke's centre-line,
/// pressed, moved along in small steps, released.
pub fn writing(character: char, rect: [f64; 4]) -> Value {
    let [left, top, width, height] = rect;
    let at = |(x, y): (f64, f64)| {
        let margin = 0.12;
        json!({
            "type": "pointerMove", "origin": "viewport", "duration": 0,
            "x": (left + width * (margin + (1.0 - 2.0 * margin) * x / 1024.0)).round() as i64,
            "y": (top + height * (margin + (1.0 - 2.0 * margin) * y / 1024.0)).round() as i64,
        })
    };
    let mut actions = Vec::new();
    for stroke in medians(character) {
        actions.push(at(stroke[0]));
        actions.push(json!({ "type": "pointerDown", "button": 0 }));
        for pair in stroke.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let steps = ((b.0 - a.0).hypot(b.1 - a.1) / 24.0).ceil().max(1.0) as usize;
            for s in 1..=steps {
                let t = s as f64 / steps as f64;
                actions.push(at((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))));
            }
        }
        actions.push(json!({ "type": "pointerUp", "button": 0 }));
    }
    json!({ "actions": [{
        "type": "pointer", "id": "pen", "parameters": { "pointerType": "mouse" }, "actions": actions
    }]})
}

/// Whether this machine can drive a browser; says so in one line (under
/// CI: fails) where not.
pub fn browser_at_hand() -> bool {
    let here = Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file();
    if !here {
        testdata::missing(testdata::NO_BROWSER);
    }
    here
}

//! End-to-end tests of `trainer export` and `trainer import` (the real
//! binary, runs trained here on a few images per class): weights survive
//! the round trip bit for bit, and files that do not fit are refused in one
//! line with nothing written. PyTorch itself is checked by `bench/parity.py`.

mod common;

use common::{course_or_synthetic, text, train_one_epoch};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::path::Path;
use std::process::Output;

/// `trainer ARGS` in `cwd`, run to the end.
fn trainer<S: AsRef<std::ffi::OsStr>>(args: &[S], cwd: &Path) -> Output {
    common::trainer()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("trainer runs")
}

fn succeeds(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn export(dir: &Path, run: &Path, out: &Path) {
    succeeds(trainer(
        &["export", "--checkpoint", s(run), "--out", s(out)],
        dir,
    ));
}

fn import(dir: &Path, file: &Path, model: &str, out: &Path) -> Output {
    trainer(&["import", s(file), "--model", model, "--out", s(out)], dir)
}

/// Every tensor of a safetensors file: name, dtype, shape and bytes.
fn tensors(file: &Path) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(file).unwrap();
    let parsed = SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<_> = parsed
        .tensors()
        .into_iter()
        .map(|(name, t)| (name, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn predictions(dir: &Path, run: &Path, data: &Path) -> String {
    let csv = dir.join(format!(
        "{}.csv",
        run.file_name().unwrap().to_str().unwrap()
    ));
    succeeds(trainer(
        &["predict", "--checkpoint", s(run), s(data), "--csv", s(&csv)],
        dir,
    ));
    std::fs::read_to_string(csv).unwrap()
}

#[test]
fn export_then_import_keeps_every_bit_and_every_prediction_of_all_six_networks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = course_or_synthetic(dir, 8);
    for model in models::MODEL_NAMES {
        let run = train_one_epoch(model, &data, dir);
        let file = dir.join(format!("{model}.safetensors"));
        export(dir, &run, &file);

        let bytes = std::fs::read(&file).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let metadata = header.metadata().clone().unwrap();
        assert_eq!(metadata["hanzi12.network"], model);
        assert_eq!(metadata["hanzi12.convention"], "ink");

        let imported = dir.join(format!("{model}-imported"));
        succeeds(import(dir, &file, model, &imported));
        let again = dir.join(format!("{model}-again.safetensors"));
        export(dir, &imported, &again);
        let (first, second) = (tensors(&file), tensors(&again));
        assert!(!first.is_empty());
        assert_eq!(first, second, "{model}: weights changed in the round trip");

        assert_eq!(
            predictions(dir, &run, &data),
            predictions(dir, &imported, &data),
            "{model}: the imported run predicts differently"
        );
    }

    // An imported run is a starting point for training, not a run to resume.
    let fine_tuned = dir.join("fine-tuned");
    let init = dir.join("mlp-imported");
    succeeds(trainer(
        &[
            "--model",
            "mlp",
            "--data",
            s(&data),
            "--epochs",
            "1",
            "--init",
            s(&init),
            "--artifacts",
            s(&fine_tuned),
        ],
        dir,
    ));
    let resumed = trainer(&["--artifacts", s(&init), "--resume"], dir);
    assert!(!resumed.status.success());
    assert!(
        text(&resumed.stderr).contains("imported from"),
        "{}",
        text(&resumed.stderr)
    );
}

/// `file` rewritten with `edit` applied to its tensors.
fn rewrite(
    file: &Path,
    out: &Path,
    edit: impl FnOnce(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>),
) {
    let mut all = tensors(file);
    edit(&mut all);
    let views: Vec<(String, TensorView)> = all
        .iter()
        .map(|(name, dtype, shape, data)| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    std::fs::write(out, safetensors::serialize(views, None).unwrap()).unwrap();
}

/// The import of `file` as `model` fails with one line containing each of
/// `needles`, and leaves no folder behind.
fn refused(dir: &Path, file: &Path, model: &str, needles: &[&str]) {
    let out_dir = dir.join("refused");
    let out = import(dir, file, model, &out_dir);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
    }
    assert!(!out_dir.exists(), "{} was written", out_dir.display());
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("refused"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[test]
fn files_that_do_not_fit_are_refused_in_one_line_naming_the_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = course_or_synthetic(dir, 4);
    let run = train_one_epoch("cnn_bn", &data, dir);
    let file = dir.join("cnn_bn.safetensors");
    export(dir, &run, &file);

    // Another network's weights: the first tensor it lacks, with its shape.
    refused(
        dir,
        &file,
        "cnn_res",
        &["'shortcut.weight'", "[64, 1, 1, 1]"],
    );
    refused(dir, &file, "cnn", &["'norm1.bias'", "not part of a cnn"]);

    let edited = dir.join("edited.safetensors");
    rewrite(&file, &edited, |all| all.retain(|t| t.0 != "conv2.bias"));
    refused(
        dir,
        &edited,
        "cnn_bn",
        &["no tensor 'conv2.bias'", "f32 [64]"],
    );

    rewrite(&file, &edited, |all| {
        let t = all.iter_mut().find(|t| t.0 == "fc1.weight").unwrap();
        t.2 = vec![3136, 128]; // Burn's orientation, not PyTorch's
    });
    refused(
        dir,
        &edited,
        "cnn_bn",
        &["'fc1.weight' has shape [3136, 128], expected [128, 3136]"],
    );

    rewrite(&file, &edited, |all| {
        let t = all.iter_mut().find(|t| t.0 == "norm2.running_var").unwrap();
        t.1 = Dtype::I32;
    });
    refused(
        dir,
        &edited,
        "cnn_bn",
        &["'norm2.running_var' is i32, expected f32 [64]"],
    );

    let bytes = std::fs::read(&file).unwrap();
    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    refused(
        dir,
        &truncated,
        "cnn_bn",
        &["truncated.safetensors", "not a complete safetensors file"],
    );

    let not_a_model = dir.join("notes.txt");
    std::fs::write(&not_a_model, "hello").unwrap();
    refused(
        dir,
        &not_a_model,
        "cnn_bn",
        &["expected a .safetensors file or a PyTorch state_dict"],
    );

    // A folder that already holds something is never overwritten.
    let busy = dir.join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    let out = import(dir, &file, "cnn_bn", &busy);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(busy.join("keep.txt")).unwrap(),
        "mine"
    );
}

/// Exact `path,logit_1..` rows of `export --logits`, as numbers.
fn logits_csv(file: &Path) -> Vec<Vec<f32>> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            line.split(',')
                .skip(1)
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn a_pytorch_state_dict_imports_and_computes_what_pytorch_computed() {
    // Made by fixtures/make_fixtures.py: the reference's mlp with 4 hidden
    // units, saved with torch.save and as safetensors, and PyTorch's logits.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let checker: Vec<f32> = (0..28 * 28)
        .map(|i| ((i % 28 + i / 28) % 2) as f32)
        .collect();
    for (n, ink) in [vec![0.0; 28 * 28], vec![1.0; 28 * 28], checker]
        .iter()
        .enumerate()
    {
        let bmp = dataset::bmp::encode_bmp_1bit(ink);
        std::fs::write(images.join(format!("{}.bmp", n + 1)), bmp).unwrap();
    }
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("mlp_hidden4.logits.json")).unwrap(),
    )
    .unwrap();

    let mut exported = Vec::new();
    for format in ["pt", "safetensors"] {
        let file = fixtures.join(format!("mlp_hidden4.{format}"));
        let run = dir.join(format!("from-{format}"));
        let args = [
            "import",
            s(&file),
            "--model",
            "mlp",
            "--hidden",
            "4",
            "--out",
            s(&run),
        ];
        succeeds(trainer(&args, dir));
        let again = dir.join(format!("again-{format}.safetensors"));
        let csv = dir.join(format!("{format}.csv"));
        let args = [
            "export",
            "--checkpoint",
            s(&run),
            "--out",
            s(&again),
            "--images",
            s(&images),
            "--logits",
            s(&csv),
        ];
        succeeds(trainer(&args, dir));
        for (ours, theirs) in logits_csv(&csv)
            .iter()
            .zip(expected["logits"].as_array().unwrap())
        {
            for (a, b) in ours.iter().zip(theirs.as_array().unwrap()) {
                let b = b.as_f64().unwrap() as f32;
                assert!(
                    (a - b).abs() <= 1e-5,
                    "{format}: logit {a} against PyTorch's {b}"
                );
            }
        }
        exported.push(tensors(&again));
    }
    assert_eq!(
        exported[0], exported[1],
        "the .pt and the .safetensors hold the same weights"
    );

    // The wrong network for the file: the first tensor that does not fit.
    let file = fixtures.join("mlp_hidden4.pt");
    let out = import(dir, &file, "mlp", &dir.join("wrong"));
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("'1.weight' has shape [4, 784], expected [256, 784]"),
        "{stderr}"
    );
    assert!(!dir.join("wrong").exists());
}

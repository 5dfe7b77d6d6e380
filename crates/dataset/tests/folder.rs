//! The folder dataset, its split, views and batches, on real handwriting
//! (`$HANZI12_DATA` or `../shared/hanzi12/train`) or, where there is none,
//! on synthetic handwriting written in the course layout.

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use dataset::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The data every test reads, loaded once.
fn data() -> &'static (Hanzi12, bool) {
    static DATA: OnceLock<(Hanzi12, bool)> = OnceLock::new();
    DATA.get_or_init(|| match testdata::real_data_root() {
        Some(root) => (Hanzi12::open(root).unwrap(), true),
        None => {
            testdata::missing_instead(testdata::NO_COURSE_DATA, "testing on synthetic handwriting");
            let dir = tempfile::tempdir().unwrap().keep();
            write_synthetic(&dir, 60);
            (Hanzi12::open(&dir).unwrap(), false)
        }
    })
}

fn write_synthetic(dir: &Path, per_class: usize) {
    let synth = synth::SyntheticHanzi12::new(synth::SynthConfig::new(), per_class, 7);
    for i in 0..synth.len() {
        let item = synth.get(i).unwrap();
        let class_dir = dir.join((item.label + 1).to_string());
        std::fs::create_dir_all(&class_dir).unwrap();
        let n = i % per_class + 1;
        std::fs::write(
            class_dir.join(format!("{n}.bmp")),
            bmp::encode_bmp_1bit(&item.image),
        )
        .unwrap();
    }
}

fn ink(image: &[f32]) -> usize {
    image.iter().filter(|&&v| v > 0.5).count()
}

#[test]
fn classes_are_numbered_folders_in_numeric_order() {
    let (data, real) = data();
    let counts = data.class_counts();
    assert!(counts.iter().all(|&c| c > 0));
    if *real && data.len() == 12 * 520 {
        assert_eq!(counts, [520; 12]);
    }
    for item in data.items() {
        assert_eq!(item.character, CHARACTERS[item.label]);
        let folder = Path::new(&item.source)
            .parent()
            .unwrap()
            .file_name()
            .unwrap();
        assert_eq!(folder.to_str().unwrap(), (item.label + 1).to_string());
    }
    assert!(
        data.items()
            .iter()
            .any(|i| i.label == 1 && i.character == '学')
    );
    assert!(
        data.items()
            .iter()
            .any(|i| i.source.contains("/10/") && i.character == '由')
    );
}

#[test]
fn images_are_binary_with_about_eleven_percent_ink() {
    let (data, _) = data();
    let mut total = 0usize;
    for item in data.items() {
        assert_eq!(item.image.len(), PIXELS);
        assert!(
            item.image.iter().all(|&v| v == 0.0 || v == 1.0),
            "{}",
            item.source
        );
        total += ink(&item.image);
    }
    let fraction = total as f64 / (data.len() * PIXELS) as f64;
    assert!((0.07..0.16).contains(&fraction), "ink fraction {fraction}");
}

#[test]
fn views_have_the_reports_properties() {
    let (data, _) = data();
    let config = AugmentConfig::new().with_scheme(AugmentScheme::Views4);
    let plain = Hanzi12::from_items(data.items()[..240].to_vec());
    let views = Augmented::new(plain.clone(), config.clone(), 3);
    assert_eq!(views.len(), 4 * plain.len());
    let n = plain.len();
    for i in 0..n {
        let original = &plain.items()[i].image;
        let (p, t, c, z) = (
            views.view(i, 0).unwrap().image,
            views.view(n + i, 0).unwrap().image,
            views.view(2 * n + i, 0).unwrap().image,
            views.view(3 * n + i, 0).unwrap().image,
        );
        assert_eq!(&p, original);
        assert!(ink(&t) <= ink(original));
        // Ink is kept unless it was within two pixels of the edge.
        if ink_within_margin(original, 2) == ink(original) {
            assert_eq!(ink(&t), ink(original));
        }
        for y in 0..SIDE {
            for x in 0..SIDE {
                let inside = (3..25).contains(&x) && (3..25).contains(&y);
                assert!(inside || c[y * SIDE + x] == 0.0, "crop border not empty");
            }
        }
        let changed = z.iter().zip(original).filter(|(a, b)| a != b).count();
        assert!(changed <= 10);
    }
    // Views differ from epoch to epoch but are fixed for a given epoch.
    let epochs: Vec<_> = (0..3).map(|e| views.view(n, e).unwrap().image).collect();
    assert_eq!(views.view(n, 1).unwrap().image, epochs[1]);
    assert!(epochs[0] != epochs[1] || epochs[1] != epochs[2]);
}

fn ink_within_margin(image: &[f32], margin: usize) -> usize {
    (margin..SIDE - margin)
        .flat_map(|y| (margin..SIDE - margin).map(move |x| (x, y)))
        .filter(|&(x, y)| image[y * SIDE + x] > 0.5)
        .count()
}

#[test]
fn the_same_seed_gives_the_same_epoch_whatever_the_worker_count() {
    let (data, _) = data();
    let subset = Hanzi12::from_items(data.items().iter().step_by(37).cloned().collect());
    let epoch_images = |workers: usize| {
        let config = AugmentConfig::new().with_scheme(AugmentScheme::Random);
        let loader = DataLoaderBuilder::new(Hanzi12Batcher::default())
            .batch_size(8)
            .shuffle(5)
            .num_workers(workers)
            .set_device(Device::flex())
            .build(Augmented::new(subset.clone(), config, 11));
        let mut epochs = Vec::new();
        for _ in 0..2 {
            let mut rows: Vec<Vec<u8>> = Vec::new();
            for batch in loader.iter() {
                let batch = batch.unwrap();
                let values = batch.images.into_data().try_to_vec_as::<f32>().unwrap();
                let targets = batch.targets.into_data().try_to_vec_as::<i64>().unwrap();
                for (row, target) in values.chunks(PIXELS).zip(targets) {
                    let mut key = vec![target as u8];
                    key.extend(row.iter().map(|&v| v as u8));
                    rows.push(key);
                }
            }
            rows.sort();
            epochs.push(rows);
        }
        epochs
    };
    let one = epoch_images(1);
    assert_eq!(one[0].len(), subset.len());
    assert_ne!(one[0], one[1], "augmentation should change between epochs");
    assert_eq!(one, epoch_images(3));
}

#[test]
fn split_is_per_class_deterministic_and_disjoint() {
    let (data, real) = data();
    let (train, valid) = data.split(DEFAULT_VALID_RATIO);
    assert_eq!(train.len() + valid.len(), data.len());
    if *real && data.len() == 12 * 520 {
        assert_eq!(valid.class_counts(), [84; 12]);
    }
    let train_sources: std::collections::HashSet<_> =
        train.items().iter().map(|i| &i.source).collect();
    assert!(
        valid
            .items()
            .iter()
            .all(|i| !train_sources.contains(&i.source))
    );
    // Validation holds the highest file numbers of each class.
    let number = |s: &str| {
        Path::new(s)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    for class in 0..NUM_CLASSES {
        let max_train = train
            .items()
            .iter()
            .filter(|i| i.label == class)
            .map(|i| number(&i.source))
            .max();
        let min_valid = valid
            .items()
            .iter()
            .filter(|i| i.label == class)
            .map(|i| number(&i.source))
            .min();
        assert!(max_train < min_valid);
    }
    let (t2, v2) = data.split(0.5);
    assert_eq!(t2.len(), v2.len());
    assert_eq!(data.split(DEFAULT_VALID_RATIO).1.items(), valid.items());
}

#[test]
fn a_smaller_copy_keeps_the_first_files_of_every_class() {
    let (data, _) = data();
    let small = data.first_per_class(10);
    assert_eq!(small.class_counts(), [10; NUM_CLASSES]);
    for class in 0..NUM_CLASSES {
        let first: Vec<_> = data
            .items()
            .iter()
            .filter(|i| i.label == class)
            .take(10)
            .collect();
        let kept: Vec<_> = small.items().iter().filter(|i| i.label == class).collect();
        assert_eq!(first, kept);
    }
    assert_eq!(data.first_per_class(usize::MAX).len(), data.len());
}

#[test]
fn the_course_split_on_620_files_is_520_and_100() {
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("3");
    std::fs::create_dir(&class).unwrap();
    let blank = bmp::encode_bmp_1bit(&[0.0; PIXELS]);
    for n in 1..=620 {
        std::fs::write(class.join(format!("{n}.bmp")), &blank).unwrap();
    }
    let (train, valid) = Hanzi12::open(dir.path())
        .unwrap()
        .split(DEFAULT_VALID_RATIO);
    assert_eq!((train.len(), valid.len()), (520, 100));
    assert!(valid.items()[0].source.ends_with("/521.bmp"));
}

fn error_of(root: &Path) -> String {
    Hanzi12::open(root).unwrap_err().to_string()
}

fn class_dir_with(root: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, bytes) in files {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    dir
}

#[test]
fn bad_folders_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    assert!(error_of(&missing).contains("does not exist"));

    let file = tmp.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    assert!(error_of(&file).contains("is not a folder"));

    let empty_root = tmp.path().join("empty");
    std::fs::create_dir(&empty_root).unwrap();
    assert!(error_of(&empty_root).contains("has no class folders"));

    let root = tmp.path().join("empty_class");
    class_dir_with(&root, "1", &[]);
    let msg = error_of(&root);
    assert!(
        msg.contains("holds no images") && msg.contains("empty_class/1"),
        "{msg}"
    );

    let root = tmp.path().join("stray");
    let good = bmp::encode_bmp_1bit(&[0.0; PIXELS]);
    class_dir_with(&root, "1", &[("1.bmp", &good)]);
    class_dir_with(&root, "thirteen", &[]);
    assert!(error_of(&root).contains("is not a class folder"));
    std::fs::remove_dir(root.join("thirteen")).unwrap();
    class_dir_with(&root, "13", &[]);
    assert!(error_of(&root).contains("is not a class folder"));
}

#[test]
fn bad_images_are_clear_errors_and_stray_files_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let good = bmp::encode_bmp_1bit(&[0.0; PIXELS]);
    let cases: [(&str, &[u8]); 3] = [
        ("zero", b""),
        ("text", b"this is not an image at all"),
        ("truncated", &good[..good.len() - 60]),
    ];
    for (name, bytes) in cases {
        let root = tmp.path().join(name);
        class_dir_with(&root, "2", &[("1.bmp", &good), ("2.bmp", bytes)]);
        let msg = error_of(&root);
        assert!(
            msg.contains("cannot decode image") && msg.contains("2/2.bmp"),
            "{name}: {msg}"
        );
    }
    let root = tmp.path().join("notes");
    class_dir_with(&root, "2", &[("1.bmp", &good), ("notes.txt", b"hello")]);
    let data = Hanzi12::open(&root).unwrap();
    assert_eq!(data.len(), 1);
    assert!(data.notes()[0].contains("notes.txt"), "{:?}", data.notes());
}

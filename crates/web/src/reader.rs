//! The reader: a run's network with its weights, turning a picture's bytes
//! into the answer `trainer serve` gives for them.

use crate::{Answer, Manifest};
use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::activation::softmax;
use dataset::{CHARACTERS, Hanzi12Batcher, Hanzi12Item, NUM_CLASSES, network_input};
use models::Network;

pub struct Reader {
    network: Network,
    batcher: Hanzi12Batcher,
    manifest: Manifest,
    device: Device,
}

impl Reader {
    /// The network `manifest` names, with `weights` (a run's `model.bpk`).
    pub fn new(manifest: Manifest, weights: Vec<u8>) -> Result<Reader, String> {
        let device = Device::flex();
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights))
            .map_err(|e| format!("model.bpk: not a Burn weights file: {e}"))?;
        let network = manifest
            .network
            .init(&device)
            .try_load_record(record)
            .map_err(|e| {
                format!(
                    "model.bpk: not the weights of a {} network: {e}",
                    manifest.network.name()
                )
            })?;
        Ok(Reader {
            network,
            batcher: Hanzi12Batcher::new(manifest.convention),
            manifest,
            device,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Reads a PNG or BMP picture.
    pub fn read(&self, picture: &[u8]) -> Result<Answer, String> {
        let input = network_input(picture, self.manifest.normalise.as_ref())?;
        let probabilities = self.probabilities(&input.image);
        Ok(Answer::new(
            self.manifest.network.name(),
            &probabilities,
            input,
        ))
    }

    /// The twelve probabilities of one 28x28 input, in class order.
    pub fn probabilities(&self, image: &[f32]) -> [f32; NUM_CLASSES] {
        let item = Hanzi12Item {
            image: image.to_vec(),
            label: 0,
            character: CHARACTERS[0],
            source: String::new(),
        };
        let images = self.batcher.images(&[item], &self.device);
        let probabilities = softmax(self.network.forward(images), 1).into_data();
        let values = probabilities
            .try_to_vec::<f32>()
            .expect("the network gives f32 probabilities");
        <[f32; NUM_CLASSES]>::try_from(values.as_slice()).expect("twelve classes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MANIFEST_VERSION;
    use models::{ModelConfig, ModelOptions};

    fn manifest(network: &str) -> Manifest {
        Manifest {
            version: MANIFEST_VERSION,
            network: ModelConfig::from_name(network, &ModelOptions::default()).unwrap(),
            convention: Default::default(),
            normalise: Some(Default::default()),
            model: serde_json::json!({}),
        }
    }

    /// A `network` with seeded weights, and its weights as `model.bpk` bytes.
    fn weights(network: &str) -> (Network, Vec<u8>) {
        let device = Device::flex();
        let net = testdata::seeded_module(&device, 7, || manifest(network).network.init(&device));
        let bytes = net.clone().into_record().into_bytes().unwrap();
        (net, bytes.to_vec())
    }

    #[test]
    fn a_drawing_is_read_as_the_network_reads_its_input() {
        for name in ["mlp", "cnn_res"] {
            let (network, bytes) = weights(name);
            let reader = Reader::new(manifest(name), bytes).unwrap();
            // A bar drawn off-centre on a large canvas, as the page sends it.
            let mut canvas = image::GrayImage::from_pixel(300, 300, image::Luma([255]));
            for y in 40..200 {
                for x in 30..60 {
                    canvas.put_pixel(x, y, image::Luma([0]));
                }
            }
            let answer = reader.read(&testdata::png(canvas)).unwrap();
            assert!(answer.input.normalised);
            let total: f32 = answer.classes.iter().map(|c| c.probability).sum();
            assert!((total - 1.0).abs() < 1e-5, "{name}: {total}");
            assert!(answer.classes[0].probability >= answer.classes[11].probability);
            let images = Tensor::<4>::from_data(
                TensorData::new(answer.input.pixels.clone(), [1, 1, 28, 28]),
                &Device::flex(),
            );
            let expected = softmax(network.forward(images), 1)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            for class in &answer.classes {
                let want = expected[class.folder - 1];
                assert!(
                    (class.probability - want).abs() < 1e-6,
                    "{name}: {class:?} {want}"
                );
            }
        }
    }

    #[test]
    fn weights_of_another_network_are_refused_in_one_line() {
        let (_, bytes) = weights("mlp");
        let error = Reader::new(manifest("cnn_res"), bytes).err().unwrap();
        assert!(
            error.starts_with("model.bpk: not the weights of a cnn_res network"),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
        let error = Reader::new(manifest("mlp"), b"not weights".to_vec())
            .err()
            .unwrap();
        assert!(
            error.starts_with("model.bpk: not a Burn weights file"),
            "{error}"
        );
    }

    #[test]
    fn bytes_that_are_no_picture_are_refused() {
        let (_, bytes) = weights("mlp");
        let reader = Reader::new(manifest("mlp"), bytes).unwrap();
        assert!(reader.read(b"GIF89a").is_err());
        assert!(reader.read(&[]).is_err());
    }
}

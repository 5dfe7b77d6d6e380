//! 2-D convolution: the public function and the values its kernels pass.

use burn::backend::{Backend, Dispatch, ExtensionType, ops::ConvOptions, tensor::FloatTensor};
use burn::tensor::Tensor;

use crate::{Activation, FastLayers, accelerated};

/// A convolution's input and weight (`[out, in, kernel height, kernel
/// width]`) with its options: what its forward and backward passes share.
#[derive(ExtensionType, Clone, Debug)]
pub struct ConvPrimitive<B: Backend> {
    pub x: FloatTensor<B>,
    pub weight: FloatTensor<B>,
    pub options: ConvOptions<2>,
}

/// The gradients of a convolution's weight and bias.
#[derive(ExtensionType, Debug)]
pub struct ConvParamGrads<B: Backend> {
    pub weight: FloatTensor<B>,
    pub bias: FloatTensor<B>,
}

/// All the gradients of a convolution: its input's and its parameters'.
#[derive(ExtensionType, Debug)]
pub struct ConvGrads<B: Backend> {
    pub x: FloatTensor<B>,
    #[extension_type]
    pub params: ConvParamGrads<B>,
}

/// A 2-D convolution, as `burn::tensor::module::conv2d`.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    conv2d_then(x, weight, bias, options, Activation::Identity)
}

/// `relu(conv2d(x))`, the ReLU applied as each image's output is written (not
/// as a pass of its own over the whole batch), and its mask applied to the
/// gradient in the convolution's backward.
pub fn conv2d_relu(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    conv2d_then(x, weight, bias, options, Activation::Relu)
}

fn conv2d_then(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
    activation: Activation,
) -> Tensor<4> {
    if !accelerated(&x.device(), x.dtype()) || options.groups != 1 {
        let output = burn::tensor::module::conv2d(x, weight, bias, options);
        return activation.apply(output);
    }
    // A missing bias is a constant zero: it costs one add and takes no gradient.
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[0]], &x.device()));
    let conv = ConvPrimitive {
        x: x.into_dispatch(),
        weight: weight.into_dispatch(),
        options,
    };
    Tensor::from_dispatch(Dispatch::conv2d_fast(
        conv,
        bias.into_dispatch(),
        activation,
    ))
}

//! 2-D convolution: the public function and the values its kernels pass.

use burn::backend::fusion::custom::TensorSpec;
use burn::backend::ops::conv::calculate_conv_output_size_asymmetric;
use burn::backend::{Backend, Dispatch, ExtensionType, ops::ConvOptions, tensor::FloatTensor};
use burn::tensor::{Shape, Tensor};

use crate::{Epilogue, FastLayers, accelerated};

/// A convolution's input and weight (`[out, in, kernel height, kernel
/// width]`) with its options: what its forward and backward passes share.
#[derive(ExtensionType, Clone, Debug)]
#[extension_type(fusion)]
pub struct ConvPrimitive<B: Backend> {
    pub x: FloatTensor<B>,
    pub weight: FloatTensor<B>,
    pub options: ConvOptions<2>,
}

/// The gradients of a convolution's weight and bias.
#[derive(ExtensionType, Debug)]
#[extension_type(fusion)]
pub struct ConvParamGrads<B: Backend> {
    pub weight: FloatTensor<B>,
    pub bias: FloatTensor<B>,
}

/// All the gradients of a convolution: its input's and its parameters'.
#[derive(ExtensionType, Debug)]
#[extension_type(fusion)]
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
    conv2d_then(x, weight, bias, options, Epilogue::Identity)
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
    conv2d_then(x, weight, bias, options, Epilogue::Relu)
}

fn conv2d_then(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
    activation: Epilogue,
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

/// The shape and dtype of a convolution's output (for Burn's fusion, which
/// records the operation before it runs).
pub(crate) fn output_spec(
    conv: &ConvPrimitiveMetadata,
    _bias: &TensorSpec,
    _activation: &Epilogue,
) -> TensorSpec {
    let ([batch, _, height, width], [channels, _, kh, kw]) =
        (conv.x.shape.dims(), conv.weight.shape.dims());
    let o = &conv.options;
    let size = |i: usize, length: usize, kernel: usize| {
        calculate_conv_output_size_asymmetric(
            kernel,
            o.stride[i],
            o.padding[i],
            o.dilation[i],
            length,
        )
    };
    let shape = Shape::new([batch, channels, size(0, height, kh), size(1, width, kw)]);
    TensorSpec::new(shape, conv.x.dtype)
}

/// The shapes and dtypes of a convolution's weight and bias gradients.
pub(crate) fn param_grads_spec(
    conv: &ConvPrimitiveMetadata,
    _output_grad: &TensorSpec,
) -> ConvParamGradsMetadata {
    let channels = conv.weight.shape[0];
    ConvParamGradsMetadata {
        weight: conv.weight.clone(),
        bias: TensorSpec::new(Shape::new([channels]), conv.weight.dtype),
    }
}

/// The shapes and dtypes of all of a convolution's gradients.
pub(crate) fn grads_spec(
    conv: &ConvPrimitiveMetadata,
    output_grad: &TensorSpec,
) -> ConvGradsMetadata {
    ConvGradsMetadata {
        x: conv.x.clone(),
        params: param_grads_spec(conv, output_grad),
    }
}

//! Convolution on the GPU: the launches of
//! [`conv_kernels`](super::conv_kernels), one per forward (with its bias
//! and ReLU) and one per backward (whichever gradients are asked for).

use burn::backend::TensorMetadata;
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::conv_kernels::{GeometryLaunch, conv_backward_kernel, conv_forward_kernel};
use super::reduce::UNITS;
use super::{elementwise_count, empty, f32_input};
use crate::{Activation, ConvGrads, ConvParamGrads, ConvPrimitive};

type Conv = ConvPrimitive<CubeBackend>;

/// Whether the kernels are written for this convolution: f32 input,
/// weight and bias, rank 4, one group.
pub(super) fn fits(conv: &Conv, bias: Option<&CubeTensor>) -> bool {
    conv.options.groups == 1
        && conv.x.shape().num_dims() == 4
        && conv.weight.shape().num_dims() == 4
        && f32_input(&conv.x)
        && f32_input(&conv.weight)
        && bias.is_none_or(f32_input)
}

fn geometry(conv: &Conv) -> GeometryLaunch {
    let o = &conv.options;
    let u = |v: usize| v as u32;
    GeometryLaunch::new(
        u(o.stride[0]),
        u(o.stride[1]),
        u(o.padding[0].0),
        u(o.padding[1].0),
        u(o.dilation[0]),
        u(o.dilation[1]),
    )
}

pub(super) fn forward(conv: Conv, bias: CubeTensor, activation: Activation) -> CubeTensor {
    let shape = crate::conv::output_shape(&conv.x.shape(), &conv.weight.shape(), &conv.options);
    let output = empty(&conv.x, shape);
    let client = conv.x.client.clone();
    let (count, dim) = elementwise_count(&client, output.shape().num_elements());
    conv_forward_kernel::launch(
        &client,
        count,
        dim,
        conv.x.clone().into_tensor_arg(),
        conv.weight.clone().into_tensor_arg(),
        bias.into_tensor_arg(),
        output.clone().into_tensor_arg(),
        geometry(&conv),
        activation == Activation::Relu,
    );
    output
}

/// Which gradients a backward launch computes.
#[derive(Clone, Copy)]
struct Wanted {
    input: bool,
    params: bool,
}

/// One backward launch: the input's gradient and the parameters' (each
/// where `wanted`; an unwanted output is a one-value placeholder).
fn backward(
    conv: &Conv,
    relu_output: Option<CubeTensor>,
    dy: CubeTensor,
    wanted: Wanted,
) -> (CubeTensor, ConvParamGrads<CubeBackend>) {
    let x = &conv.x;
    let one = || empty(x, Shape::new([1]));
    let dx = match wanted.input {
        true => empty(x, x.shape()),
        false => one(),
    };
    let channels = conv.weight.shape()[0];
    let (dweight, dbias) = match wanted.params {
        true => (
            empty(x, conv.weight.shape()),
            empty(x, Shape::new([channels])),
        ),
        false => (one(), one()),
    };
    let mut cubes = 0;
    if wanted.params {
        cubes += dweight.shape().num_elements() + channels;
    }
    if wanted.input {
        cubes += dx.shape().num_elements().div_ceil(UNITS);
    }
    let relu = relu_output.is_some();
    let output = relu_output.unwrap_or_else(|| dy.clone());
    conv_backward_kernel::launch(
        &x.client,
        cube_count(&x.client, cubes),
        CubeDim::new_1d(UNITS as u32),
        x.clone().into_tensor_arg(),
        conv.weight.clone().into_tensor_arg(),
        dy.into_tensor_arg(),
        output.into_tensor_arg(),
        dx.clone().into_tensor_arg(),
        dweight.clone().into_tensor_arg(),
        dbias.clone().into_tensor_arg(),
        geometry(conv),
        relu,
        wanted.params,
        wanted.input,
    );
    let params = ConvParamGrads {
        weight: dweight,
        bias: dbias,
    };
    (dx, params)
}

/// At least `cubes` cubes, laid out within the adapter's limit per
/// dimension (the kernel skips any past the last it needs).
fn cube_count(client: &cubecl::client::Client, cubes: usize) -> CubeCount {
    cubecl::calculate_cube_count_elemwise(client, cubes, CubeDim::new_1d(1))
}

pub(super) fn x_grad(conv: Conv, dy: CubeTensor) -> CubeTensor {
    let wanted = Wanted {
        input: true,
        params: false,
    };
    backward(&conv, None, dy, wanted).0
}

pub(super) fn param_grads(conv: Conv, dy: CubeTensor) -> ConvParamGrads<CubeBackend> {
    let wanted = Wanted {
        input: false,
        params: true,
    };
    backward(&conv, None, dy, wanted).1
}

pub(super) fn grads(conv: Conv, dy: CubeTensor) -> ConvGrads<CubeBackend> {
    let wanted = Wanted {
        input: true,
        params: true,
    };
    let (x, params) = backward(&conv, None, dy, wanted);
    ConvGrads { x, params }
}

//! The launch counter on the CPU backend, in a process of its own: the
//! counter sees every launch of the process, and the library's unit tests
//! launch GPU kernels beside it.

use burn::tensor::{Device, Tensor};
use kernels::launches::{Launches, count};

#[test]
fn flex_launches_no_kernels() {
    let device = Device::flex();
    let (sum, launches) = count(&device, || {
        let x = Tensor::<1>::ones([4], &device);
        x.sum().into_scalar::<f32>()
    });
    assert_eq!(sum, 4.0);
    assert_eq!(launches, Launches::default());
}

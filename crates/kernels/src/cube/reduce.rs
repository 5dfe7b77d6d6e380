//! Sums across the units of one cube (a workgroup), through shared memory:
//! the per-channel reductions of BatchNorm and the per-row ones of the loss.

use cubecl::prelude::*;

/// Units per cube of the reducing kernels: a power of two, so the tree
/// below halves evenly, and within every adapter's limit (WebGPU's is 256).
pub(crate) const UNITS: usize = 256;

/// The sum of each unit's `value` over the cube, returned to every unit.
/// `shared` holds `UNITS` values, the cube has `UNITS` units, and every
/// unit must call this (it syncs).
#[cube]
pub(crate) fn cube_sum(shared: &mut Shared<[f32]>, value: f32) -> f32 {
    let unit = UNIT_POS as usize;
    shared[unit] = value;
    sync_cube();
    // A runtime value (`CUBE_DIM` is `UNITS`): a comptime one cannot be
    // reassigned in the loop.
    let mut half = (CUBE_DIM / 2) as usize;
    while half > 0 {
        if unit < half {
            shared[unit] += shared[unit + half];
        }
        sync_cube();
        half /= 2;
    }
    let total = shared[0];
    sync_cube();
    total
}

/// The largest of each unit's `value` over the cube, to every unit.
#[cube]
pub(crate) fn cube_max(shared: &mut Shared<[f32]>, value: f32) -> f32 {
    let unit = UNIT_POS as usize;
    shared[unit] = value;
    sync_cube();
    let mut half = (CUBE_DIM / 2) as usize;
    while half > 0 {
        if unit < half {
            shared[unit] = max(shared[unit], shared[unit + half]);
        }
        sync_cube();
        half /= 2;
    }
    let total = shared[0];
    sync_cube();
    total
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use core::arch::wasm32::*;
    pub type F4 = v128;
    /// # Safety
    /// `p` points at four readable f32 (any alignment).
    #[inline(always)]
    pub unsafe fn load(p: *const f32) -> F4 {
        v128_load(p as *const v128)
    }
    /// # Safety
    /// `p` points at a readable f32.
    #[inline(always)]
    pub unsafe fn load_splat(p: *const f32) -> F4 {
        v128_load32_splat(p as *const u32)
    }
    #[inline(always)]
    pub fn splat(x: f32) -> F4 {
        f32x4_splat(x)
    }
    #[inline(always)]
    pub fn store(d: &mut [f32], v: F4) {
        let d: &mut [f32; 4] = d.try_into().unwrap();
        // SAFETY: as `load`.
        unsafe { v128_store(d.as_mut_ptr() as *mut v128, v) }
    }
    #[cfg(not(feature = "relaxed-simd"))]
    #[inline(always)]
    pub fn mul_add(a: F4, b: F4, c: F4) -> F4 {
        f32x4_add(c, f32x4_mul(a, b))
    }
    /// `a·b + c` in one instruction: relaxed SIMD lets the engine fuse it (one rounding)
    /// where the machine has FMA, and fewer instructions per tap are what the kernel is
    /// bound by.
    #[cfg(feature = "relaxed-simd")]
    #[inline]
    #[target_feature(enable = "relaxed-simd")]
    pub fn mul_add(a: F4, b: F4, c: F4) -> F4 {
        f32x4_relaxed_madd(a, b, c)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub type F4 = [f32; 4];
    /// # Safety
    /// `p` points at four readable f32.
    #[inline(always)]
    pub unsafe fn load(p: *const f32) -> F4 {
        std::ptr::read_unaligned(p as *const F4)
    }
    /// # Safety
    /// `p` points at a readable f32.
    #[inline(always)]
    pub unsafe fn load_splat(p: *const f32) -> F4 {
        [*p; 4]
    }
    #[inline(always)]
    pub fn splat(x: f32) -> F4 {
        [x; 4]
    }
    #[inline(always)]
    pub fn store(d: &mut [f32], v: F4) {
        d.copy_from_slice(&v);
    }
    #[inline(always)]
    pub fn mul_add(a: F4, b: F4, c: F4) -> F4 {
        std::array::from_fn(|i| c[i] + a[i] * b[i])
    }
}

pub use imp::*;

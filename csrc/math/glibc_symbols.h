// The portable wheel promises glibc 2.34 (manylinux_2_34). glibc 2.35 gave hypot/hypotf a new
// symbol version (a rewritten implementation), so code calling std::hypot built on a newer glibc
// would need 2.35 at load time. These directives bind the calls to the original versions, which
// every glibc still provides. Host x86-64 glibc builds only; device code never calls libm.
#pragma once
#if defined(__GLIBC__) && defined(__x86_64__) && !defined(__CUDA_ARCH__)
__asm__(".symver hypot,hypot@GLIBC_2.2.5");
__asm__(".symver hypotf,hypotf@GLIBC_2.2.5");
#endif

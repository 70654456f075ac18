// The emulated GPU's out-of-line part (PYENGINE_CUDA=EMU builds only): the x86-64 fiber switch
// that cuda_emu.h declares. In one file, because a top-level asm block in the header would be
// defined once per object (and LTO merges them).
#include "cuda/cuda_emu.h"

#if defined(__x86_64__) && !defined(__CUDACC__)
// pe_emu_switch(save_sp, load_sp): push the callee-saved registers, store rsp in *save_sp, load
// rsp = load_sp, pop that context's registers, and return into it.
asm(R"(
  .text
  .globl pe_emu_switch
  .type pe_emu_switch, @function
pe_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size pe_emu_switch, .-pe_emu_switch
)");
#endif

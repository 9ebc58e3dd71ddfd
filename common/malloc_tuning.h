// Keeps memory that LibTorch frees inside the process for the next step.
//
// glibc hands big blocks back to the kernel when they are freed: blocks above
// the mmap threshold are unmapped, and free space above the trim threshold at
// the top of the heap is released. LibTorch frees and reallocates every
// activation and gradient each training step, so each step page-faults and
// zero-fills its working set afresh. Measured on the 2-core VM (1 thread,
// gridrun-bench-train): the MLP-VAE step 3.3-3.6x and the DCGAN step 1.9x
// faster with the memory kept (docs/BENCHMARKS.md, part 1). MPI ranks were
// already fast because Open MPI's memory hooks change the same settings.
//
// The cost: the process keeps its peak working set (plus up to 1 GiB of free
// heap) instead of returning it between steps, which is what a training
// process wants anyway.
#pragma once

namespace gridrun {

// Fixes glibc's mmap threshold at 32 MiB (the largest it accepts on 64-bit)
// and its trim threshold at 1 GiB. Leaves glibc alone when the user tuned
// malloc through the environment (GLIBC_TUNABLES glibc.malloc.*, or
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_). Returns whether it changed
// anything. Call first thing in main(), before threads start.
bool KeepFreedMemoryForReuse();

}  // namespace gridrun

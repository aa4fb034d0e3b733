/**
 * Which allocator the native backend takes its tensors from: glibc's malloc, or TensorFlow's own
 * best-fit-with-coalescing (BFC) allocator, chosen by the size of what a step allocates.
 *
 * With malloc, every block of 32 MiB and more is a fresh mmap (glibc cannot keep larger blocks in
 * its heap on 64-bit), whose pages fault in as they are first written. A batch of four solutions
 * makes such blocks at every layer from 256 px up (a 4 x 256 x 256 x 64 map is 67 MB), and so does
 * one solution at 1024 px (1024 x 1024 x 16 floats, 64 MB): there the step spent about as long in
 * the kernel as in the arithmetic. BFC keeps freed buffers and hands them out again, so such steps
 * stop faulting. Where every block stays under 32 MiB (one solution up to 256 px) malloc serves
 * them from its heap anyway and BFC only raises the peak, since its regions grow by doubling
 * (docs/performance.md, seventh and eighth rounds; one run each unless a range is given):
 *
 * | px (solutions) | malloc | BFC |
 * | --- | --- | --- |
 * | 64 (1) | 0.158-0.167 s, 610-612 MB | 0.146-0.166 s, 641-747 MB |
 * | 64 (4) | 0.421-0.463 s, 918-938 MB | 0.381-0.403 s, 775-822 MB |
 * | 256 (4) | 1.34-1.48 s, 1813-1822 MB | 1.02-1.10 s, 1844-1900 MB |
 * | 1024 (1) | 0.956-1.061 s, 1615-1648 MB | 0.768-0.834 s, 1624-1650 MB |
 *
 * So BFC is used when a step optimises more than one solution, or when one image's largest map
 * reaches malloc's mmap ceiling. TensorFlow reads its variable (TF_CPU_ALLOCATOR_USE_BFC) once,
 * when it makes its CPU allocator, so the choice is made before the native package loads and
 * holds for the process. A value the user set is left as it is.
 */

/** glibc's largest mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): larger blocks are always fresh mappings. */
export const MALLOC_MMAP_CEILING_BYTES = 32 * 2 ** 20;

/** What the steps of a process will allocate, as far as the caller knows before the backend starts. */
export interface StepSize {
  /** Solutions each step optimises at once (PULSE's duplicates, a benchmark's batch). */
  readonly solutionsPerStep?: number;
  /** Bytes of one image's largest feature map in the generator (stylegan/config.ts largestMapFloats x 4). */
  readonly largestMapBytes?: number;
}

/** TensorFlow's switch between malloc and BFC for CPU tensors (read once per process). */
export const TF_BFC_SWITCH = 'TF_CPU_ALLOCATOR_USE_BFC';

/** The allocator chosen here (bfc, or malloc by leaving TensorFlow's default), or `user` where the user set the switch; and why. */
export interface TensorAllocatorChoice {
  readonly allocator: 'bfc' | 'malloc' | 'user';
  readonly why: string;
}

/** Throws, naming the field, for a count or size that is not one. */
export function checkStepSize(size: StepSize): void {
  const { solutionsPerStep, largestMapBytes } = size;
  if (solutionsPerStep !== undefined && !(Number.isInteger(solutionsPerStep) && solutionsPerStep >= 1)) {
    throw new Error(`solutionsPerStep=${solutionsPerStep} is not a count of solutions; give a whole number >= 1, or leave it out`);
  }
  if (largestMapBytes !== undefined && !(Number.isFinite(largestMapBytes) && largestMapBytes >= 0)) {
    throw new Error(`largestMapBytes=${largestMapBytes} is not a size in bytes; give a number >= 0, or leave it out`);
  }
}

/**
 * The allocator for a process whose steps have `size` (fields left out: not known, e.g. a
 * notebook's first call), and why. Pure: the caller applies it (`applyTensorAllocator`).
 */
export function chooseTensorAllocator(size: StepSize, env: NodeJS.ProcessEnv): TensorAllocatorChoice {
  checkStepSize(size);
  const { solutionsPerStep, largestMapBytes } = size;
  const set = env[TF_BFC_SWITCH];
  if (set !== undefined && set.trim() !== '') return { allocator: 'user', why: `${TF_BFC_SWITCH}=${set} as set` };
  if (solutionsPerStep !== undefined && solutionsPerStep > 1) {
    return { allocator: 'bfc', why: `${solutionsPerStep} solutions per step: TensorFlow's BFC allocator reuses the batch's large buffers` };
  }
  if (largestMapBytes !== undefined && largestMapBytes >= MALLOC_MMAP_CEILING_BYTES) {
    return { allocator: 'bfc', why: `maps of ${Math.round(largestMapBytes / 2 ** 20)} MiB, past malloc's mmap ceiling: TensorFlow's BFC allocator reuses them` };
  }
  return { allocator: 'malloc', why: solutionsPerStep === undefined && largestMapBytes === undefined ? 'step size not given: malloc' : 'one solution, maps under malloc\'s mmap ceiling: malloc keeps peak memory lowest' };
}

/**
 * Sets TF_CPU_ALLOCATOR_USE_BFC in `env` (process.env: Node passes it to the C environment, where
 * TensorFlow reads it) for the choice; returns the choice. Only useful before the native package
 * has made its first tensor.
 */
export function applyTensorAllocator(size: StepSize, env: NodeJS.ProcessEnv = process.env): TensorAllocatorChoice {
  const choice = chooseTensorAllocator(size, env);
  if (choice.allocator === 'bfc') env[TF_BFC_SWITCH] = 'true';
  return choice;
}

/**
 * Which allocator the native backend takes its tensors from: glibc's malloc, or TensorFlow's own
 * best-fit-with-coalescing (BFC) allocator, chosen by how many solutions a step optimises.
 *
 * With malloc, every block of 32 MiB and more is a fresh mmap (glibc cannot keep larger blocks in
 * its heap on 64-bit), whose pages fault in as they are first written. A batch of four solutions
 * makes such blocks at every layer from 256 px up (a 4 x 256 x 256 x 64 map is 67 MB), and at
 * 256 px the step spent more time in the kernel than in the arithmetic. BFC keeps freed buffers
 * and hands them out again, so a batch's step stops faulting; a single solution, whose blocks
 * mostly come back from malloc's heap anyway, gains nothing from it and its peak memory grows,
 * since BFC's regions grow by doubling (docs/performance.md, seventh and eighth rounds):
 *
 * | px (solutions) | malloc | BFC |
 * | --- | --- | --- |
 * | 64 (1) | 0.158-0.167 s, 610-612 MB | 0.146-0.166 s, 641-747 MB |
 * | 256 (4) | 1.34-1.48 s, 1813-1822 MB | 1.02-1.10 s, 1844-1900 MB |
 *
 * So BFC is used when a step optimises more than one solution. TensorFlow reads its variable
 * (TF_CPU_ALLOCATOR_USE_BFC) once, when it makes its CPU allocator, so the choice is made before
 * the native package loads and holds for the process. A value the user set is left as it is.
 */

/** TensorFlow's switch between malloc and BFC for CPU tensors (read once per process). */
export const TF_BFC_SWITCH = 'TF_CPU_ALLOCATOR_USE_BFC';

/** Whether the allocator was chosen here, left to the user, or left at TensorFlow's default. */
export type TensorAllocatorChoice =
  | { readonly allocator: 'bfc' | 'malloc'; readonly why: string }
  | { readonly allocator: 'user'; readonly why: string };

/**
 * The allocator for a process whose steps optimise `solutionsPerStep` solutions at once
 * (undefined: not known, e.g. a notebook's first call), and the environment value that selects
 * it. Pure: the caller applies it (`applyTensorAllocator`).
 */
export function chooseTensorAllocator(solutionsPerStep: number | undefined, env: NodeJS.ProcessEnv): TensorAllocatorChoice {
  const set = env[TF_BFC_SWITCH];
  if (set !== undefined && set.trim() !== '') return { allocator: 'user', why: `${TF_BFC_SWITCH}=${set} as set` };
  if (solutionsPerStep !== undefined && !(Number.isInteger(solutionsPerStep) && solutionsPerStep >= 1)) {
    throw new Error(`solutionsPerStep=${solutionsPerStep} is not a count of solutions; give a whole number >= 1, or leave it out`);
  }
  if (solutionsPerStep !== undefined && solutionsPerStep > 1) {
    return { allocator: 'bfc', why: `${solutionsPerStep} solutions per step: TensorFlow's BFC allocator reuses the batch's large buffers` };
  }
  return { allocator: 'malloc', why: solutionsPerStep === 1 ? 'one solution per step: malloc keeps peak memory lowest' : 'solutions per step not given: malloc' };
}

/**
 * Sets TF_CPU_ALLOCATOR_USE_BFC in `env` (process.env: Node passes it to the C environment, where
 * TensorFlow reads it) for the choice; returns the choice. Only useful before the native package
 * has made its first tensor.
 */
export function applyTensorAllocator(solutionsPerStep: number | undefined, env: NodeJS.ProcessEnv = process.env): TensorAllocatorChoice {
  const choice = chooseTensorAllocator(solutionsPerStep, env);
  if (choice.allocator === 'bfc') env[TF_BFC_SWITCH] = 'true';
  return choice;
}

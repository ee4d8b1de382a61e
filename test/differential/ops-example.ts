import { Random, singleNodeCase, type OpGenerator } from './harness.js';

/** Add with random ranks and broadcasting: the pattern other generator files follow. */
export const generators: OpGenerator[] = [
  {
    op: 'Add (broadcast)',
    cases: (random: Random, count: number) =>
      Array.from({ length: count }, () => {
        const rank = random.int(0, 4);
        const a = Array.from({ length: rank }, () => random.int(1, 5));
        const b = a.slice(random.int(0, rank)).map((dim) => (random.bool(0.3) ? 1 : dim));
        return singleNodeCase(`Add a[${a}] b[${b}]`, {
          opType: 'Add',
          opset: 14,
          inputs: [
            { name: 'a', value: random.tensor('float32', a) },
            { name: 'b', value: random.tensor('float32', b) },
          ],
          outputs: ['c'],
        });
      }),
  },
];

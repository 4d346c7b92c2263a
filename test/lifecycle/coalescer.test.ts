import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/lifecycle/coalescer.js';

// A coalescer whose runs the test finishes by hand.
function manual() {
  const runs: { request: string; finish: (result: string) => void }[] = [];
  const coalescer = new Coalescer<string, string>(
    (request, finish) => runs.push({ request, finish }),
    (queued, next) => (next === 'keep' ? queued : next),
  );
  const answers: string[] = [];
  const ask = (request: string, name = request) =>
    coalescer.request(request, (r) => answers.push(`${name}:${r}`));
  return { coalescer, runs, answers, ask };
}

describe('Coalescer', () => {
  it('runs at once when idle, and answers each request once with the run that served it', () => {
    const { runs, answers, ask, coalescer } = manual();
    ask('a');
    expect(runs.map((r) => r.request)).toEqual(['a']);
    expect(coalescer.busy).toBe(true);
    ask('b');
    ask('c');
    expect(runs).toHaveLength(1);
    runs[0]?.finish('first');
    expect(answers).toEqual(['a:first']);
    // One more run for everything asked meanwhile, with the latest request.
    expect(runs.map((r) => r.request)).toEqual(['a', 'c']);
    runs[1]?.finish('second');
    expect(answers).toEqual(['a:first', 'b:second', 'c:second']);
    expect(coalescer.busy).toBe(false);
  });

  it('lets the merge keep what a queued request brought', () => {
    const { runs, ask } = manual();
    ask('a');
    ask('v2');
    ask('keep');
    runs[0]?.finish('x');
    expect(runs[1]?.request).toBe('v2');
  });

  it('ignores a second finish, and survives a run that finishes at once', () => {
    const answers: number[] = [];
    let n = 0;
    const coalescer = new Coalescer<null, number>((_r, finish) => {
      n += 1;
      finish(n);
      finish(99);
    });
    coalescer.request(null, (r) => answers.push(r));
    coalescer.request(null, (r) => answers.push(r));
    expect(answers).toEqual([1, 2]);
    expect(coalescer.busy).toBe(false);
  });

  it('calls idle waiters once nothing runs or is queued', () => {
    const { runs, ask, coalescer } = manual();
    const idle: string[] = [];
    coalescer.whenIdle(() => idle.push('now'));
    expect(idle).toEqual(['now']);
    ask('a');
    ask('b');
    coalescer.whenIdle(() => idle.push('later'));
    runs[0]?.finish('1');
    expect(idle).toEqual(['now']);
    runs[1]?.finish('2');
    expect(idle).toEqual(['now', 'later']);
  });

  it('answers what is queued without running it, when told to drop it', () => {
    const { runs, answers, ask, coalescer } = manual();
    ask('a');
    ask('b');
    coalescer.dropQueued('dropped');
    expect(answers).toEqual(['b:dropped']);
    runs[0]?.finish('done');
    expect(runs).toHaveLength(1);
    expect(answers).toEqual(['b:dropped', 'a:done']);
  });
});

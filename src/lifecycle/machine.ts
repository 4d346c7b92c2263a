// A lifecycle as an explicit state machine: a table of the transitions allowed, and one function that
// takes a transition, asserts it and reports it as one event (Supervisor's `states.py` and its
// `change_state()`). Whatever decides a transition (policy, a process event) lives outside; the machine
// only refuses the ones its table does not list, so an impossible change is a bug caught where it happens.

export type Transitions<S extends string> = Readonly<Record<S, readonly S[]>>;

export class TransitionError extends Error {
  constructor(
    readonly machine: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`invalid ${machine} transition ${from} -> ${to}`);
    this.name = 'TransitionError';
  }
}

export function canTransition<S extends string>(table: Transitions<S>, from: S, to: S): boolean {
  return table[from].includes(to);
}

export function assertTransition<S extends string>(machine: string, table: Transitions<S>, from: S, to: S) {
  if (!canTransition(table, from, to)) throw new TransitionError(machine, from, to);
}

/** States with no way out. */
export function terminalStates<S extends string>(table: Transitions<S>): S[] {
  return (Object.keys(table) as S[]).filter((s) => table[s].length === 0);
}

/** What a transition reports besides its two states (a reason; for workers, an exit code or address). */
export type Detail = { reason?: string };

/**
 * One instance of a lifecycle. `to()` is the only way its state changes: it asserts the transition
 * and emits it. Moving to the state it is already in is not a transition and emits nothing.
 */
export class Lifecycle<S extends string, D extends object = Detail> {
  #state: S;

  constructor(
    readonly machine: string,
    private readonly table: Transitions<S>,
    initial: S,
    private readonly emit: (from: S, to: S, detail: Partial<D>) => void,
  ) {
    this.#state = initial;
  }

  get state(): S {
    return this.#state;
  }

  is(...states: readonly S[]): boolean {
    return states.includes(this.#state);
  }

  to(to: S, detail: Partial<D> = {}): void {
    const from = this.#state;
    if (to === from) return;
    assertTransition(this.machine, this.table, from, to);
    this.#state = to;
    this.emit(from, to, detail);
  }
}

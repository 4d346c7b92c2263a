// A pool's slots, in id order: each is the snapshot its last step returned (slot-step.ts), and `step`
// is the one place one changes. The table holds them privately, so nothing else can put anything else
// in their place; the caller carries out the effects each step returns.
import type { ResolvedApp } from '../../config/resolved.js';
import {
  createSlot,
  type SlotContext,
  type SlotEffect,
  type SlotEvent,
  type SlotSnapshot,
  slotStep,
} from './slot-step.js';

export class SlotTable<W> {
  readonly #slots: SlotSnapshot<W>[] = [];

  get all(): readonly SlotSnapshot<W>[] {
    return [...this.#slots];
  }

  get size(): number {
    return this.#slots.length;
  }

  get(id: number): SlotSnapshot<W> | undefined {
    return this.#slots.find((s) => s.id === id);
  }

  /** The slot whose worker or successor `worker` is. */
  holding(worker: W): SlotSnapshot<W> | undefined {
    return this.#slots.find((s) => s.worker === worker || s.successor === worker);
  }

  /** A new slot, after the others; returns its first effects. */
  add(id: number, app: ResolvedApp): readonly SlotEffect<W>[] {
    const { snapshot, effects } = createSlot<W>(id, app);
    this.#slots.push(snapshot);
    return effects;
  }

  /** Steps slot `id` with `event`; returns the effects to carry out (none for a slot not here). */
  step(id: number, event: SlotEvent<W>, context: SlotContext<W>): readonly SlotEffect<W>[] {
    const index = this.#slots.findIndex((s) => s.id === id);
    const slot = this.#slots[index];
    if (!slot) return [];
    const { snapshot, effects } = slotStep(slot, event, context);
    this.#slots[index] = snapshot;
    return effects;
  }

  /** Takes the slots from `count` on out of the table (removed first: their workers drain). */
  truncate(count: number): void {
    this.#slots.splice(count);
  }
}

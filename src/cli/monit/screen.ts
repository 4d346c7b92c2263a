// The terminal side of `clusterd monit`: the alternate screen (the shell's screen comes back as it was),
// no cursor, keys one at a time, and drawing by line: only the lines that changed since the last frame
// are written, so an idle view costs a few bytes a second. Everything is undone on leave, also after an
// error (monit.ts leaves in `finally`).
import { emitKeypressEvents } from 'node:readline';
import type { Key } from './model.js';

const ESC = '\x1b[';

export class Screen {
  private shown: string[] = [];
  private entered = false;

  constructor(
    private readonly output: NodeJS.WriteStream,
    private readonly input: NodeJS.ReadStream,
  ) {}

  get columns(): number {
    return this.output.columns || 80;
  }

  get rows(): number {
    return this.output.rows || 24;
  }

  enter(onKey: (key: Key) => void, onResize: () => void): void {
    this.entered = true;
    emitKeypressEvents(this.input);
    this.input.setRawMode?.(true);
    this.input.on('keypress', (_text: string | undefined, key: Key | undefined) =>
      onKey(key ?? { sequence: _text }),
    );
    this.input.resume();
    this.output.on('resize', () => {
      this.shown = [];
      this.output.write(`${ESC}2J`);
      onResize();
    });
    this.output.write(`${ESC}?1049h${ESC}?25l${ESC}2J`);
  }

  /** Draws a frame: the lines that differ from those on the screen. */
  draw(lines: readonly string[]): void {
    // Nothing is drawn once the terminal is given back (an action's answer that came after `q`).
    if (!this.entered) return;
    let out = '';
    for (const [i, line] of lines.entries())
      if (this.shown[i] !== line) out += `${ESC}${i + 1};1H${line}${ESC}0m${ESC}K`;
    for (let i = lines.length; i < this.shown.length; i++) out += `${ESC}${i + 1};1H${ESC}K`;
    this.shown = [...lines];
    if (out) this.output.write(out);
  }

  leave(): void {
    if (!this.entered) return;
    this.entered = false;
    this.input.setRawMode?.(false);
    this.input.pause();
    this.output.write(`${ESC}0m${ESC}?1049l${ESC}?25h`);
  }

  /** Back after a suspension (Ctrl-Z, then `fg`): the screen is taken again and drawn whole. */
  resume(): void {
    if (this.entered) return;
    this.entered = true;
    this.shown = [];
    this.input.setRawMode?.(true);
    this.input.resume();
    this.output.write(`${ESC}?1049h${ESC}?25l${ESC}2J`);
  }
}

import { TsgradError } from '../core/errors.js';

/** A command-line mistake: printed as `error: ...` with exit code 2, never a stack trace. */
export class UsageError extends TsgradError {}

export interface OptionSpec {
  /** 'flag' takes no value. */
  type: 'string' | 'number' | 'integer' | 'flag';
  help: string;
  default?: string | number | boolean;
  choices?: readonly string[];
  /** Shown instead of the list of choices in --help, where the list is long (e.g. the models). */
  choicesHelp?: string;
  min?: number;
}

/** --help lines are at most this wide. */
export const HELP_WIDTH = 100;

/** Choice lists up to this long go in the left column (`--optimizer adam|adamw|sgd`); longer ones are wrapped on the right. */
const INLINE_CHOICES = 16;

/** Splits `text` into lines of at most `width` characters at spaces. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export type ParsedOptions = Record<string, string | number | boolean | undefined>;

/** Parses `--name value` / `--name=value` / `--flag` options and positional arguments against a spec. */
export function parseOptions(
  argv: readonly string[],
  spec: Record<string, OptionSpec>,
  command: string,
): { options: ParsedOptions; positional: string[] } {
  const options: ParsedOptions = {};
  const positional: string[] = [];
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) options[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const s = spec[name];
    if (!s) {
      throw new UsageError(`${command}: unknown option --${name} (run 'tsgrad ${command} --help' for the options)`);
    }
    if (s.type === 'flag') {
      if (eq >= 0) throw new UsageError(`${command}: --${name} takes no value`);
      options[name] = true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--')))
      throw new UsageError(`${command}: --${name} needs a value`);
    if (s.type === 'string') {
      if (s.choices && !s.choices.includes(raw)) {
        throw new UsageError(`${command}: --${name} must be one of ${s.choices.join(', ')}; got '${raw}'`);
      }
      options[name] = raw;
    } else {
      const v = Number(raw);
      if (!Number.isFinite(v) || (s.type === 'integer' && !Number.isInteger(v))) {
        throw new UsageError(
          `${command}: --${name} must be ${s.type === 'integer' ? 'an integer' : 'a number'}; got '${raw}'`,
        );
      }
      if (s.min !== undefined && v < s.min) throw new UsageError(`${command}: --${name} must be >= ${s.min}; got ${v}`);
      options[name] = v;
    }
  }
  return { options, positional };
}

/** The options table for --help, wrapped to HELP_WIDTH columns. */
export function formatOptions(spec: Record<string, OptionSpec>): string {
  const rows = Object.entries(spec).map(([k, s]) => {
    const inline = s.choices && !s.choicesHelp && s.choices.join('|').length <= INLINE_CHOICES;
    const value = inline ? s.choices!.join('|') : s.choices || s.type === 'string' ? 'VALUE' : 'N';
    const left = `  --${k}${s.type === 'flag' ? '' : ` ${value}`}`;
    const dflt = s.default !== undefined && s.type !== 'flag' ? ` (default ${s.default})` : '';
    const choices = s.choicesHelp ? `: ${s.choicesHelp}` : s.choices && !inline ? `: ${s.choices.join(', ')}` : '';
    return [left, `${s.help}${choices}${dflt}`] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows
    .map(([l, r]) => {
      const [first, ...rest] = wrapText(r, HELP_WIDTH - w);
      return [`${l.padEnd(w)}${first ?? ''}`, ...rest.map((line) => `${' '.repeat(w)}${line}`)].join('\n');
    })
    .join('\n');
}

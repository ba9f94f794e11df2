/**
 * A cell's place in the pipeline, as its tags say it (docs/tags.md, Kale's grammar), and the
 * tags that say a new place: what the step chip on each cell shows and writes. No DOM here.
 */

/** What a cell is in the pipeline. `join`: no tag of its own, it joins the cell above. */
export type CellRole = 'step' | 'join' | 'imports' | 'functions' | 'parameters' | 'metrics' | 'skip';

export interface IStepChoice {
  role: CellRole;
  /** The step's name, for `step`. */
  step: string;
  /** `prev:` — steps this one runs after even when no data flows (for `step`). */
  prev: string[];
  /** `gate:` conditions of the model gate (any cell). */
  gate: string[];
}

/** Role tags and the role each says (Kale's names, papermill's `parameters`). */
const ROLE_TAGS: Record<string, CellRole> = {
  imports: 'imports',
  functions: 'functions',
  'pipeline-parameters': 'parameters',
  parameters: 'parameters',
  'pipeline-metrics': 'metrics',
  metrics: 'metrics',
  skip: 'skip'
};

/** The tag written for a role (Kale's spelling). */
const WRITTEN: Record<string, string> = {
  imports: 'imports',
  functions: 'functions',
  parameters: 'pipeline-parameters',
  metrics: 'pipeline-metrics',
  skip: 'skip'
};

export const STEP_NAME = /^[a-z_][a-z0-9_]*$/;
const RESERVED = new Set([
  ...Object.keys(ROLE_TAGS), 'common', 'pipeline', 'nb2pipe', 'main', 'runtime',
  // Python's keywords cannot name a step's module
  'false', 'none', 'true', 'and', 'as', 'assert', 'async', 'await', 'break', 'class',
  'continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if',
  'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try',
  'while', 'with', 'yield'
]);

/** Why `name` cannot name a step, or null when it can (the rules of docs/tags.md). */
export function stepNameProblem(name: string): string | null {
  if (!name) {
    return 'a step needs a name';
  }
  if (!STEP_NAME.test(name)) {
    return 'use lower case letters, digits and _, not starting with a digit';
  }
  if (RESERVED.has(name)) {
    return `"${name}" is reserved: choose another name`;
  }
  return null;
}

/** Whether nb2pipe reads this tag as a place in the pipeline (the tags the chip rewrites). */
function isPlaceTag(tag: string): boolean {
  return tag in ROLE_TAGS || /^(step|block|prev|gate):/.test(tag);
}

/** The place the cell's own tags give it. */
export function readChoice(tags: readonly string[]): IStepChoice {
  const choice: IStepChoice = { role: 'join', step: '', prev: [], gate: [] };
  for (const raw of tags) {
    const tag = raw.trim();
    if (tag in ROLE_TAGS) {
      // `skip` wins over another role, as the converter reads it
      if (choice.role === 'join' || ROLE_TAGS[tag] === 'skip') {
        choice.role = ROLE_TAGS[tag];
      }
      continue;
    }
    const [prefix, ...rest] = tag.split(':');
    const value = rest.join(':');
    if ((prefix === 'step' || prefix === 'block') && value) {
      choice.step = choice.step || value;
      if (choice.role === 'join') {
        choice.role = 'step';
      }
    } else if (prefix === 'prev' && value) {
      choice.prev.push(value);
    } else if (prefix === 'gate' && value) {
      choice.gate.push(value.trim());
    }
  }
  return choice;
}

/**
 * The tags that say `choice`, from the cell's `tags`: tags of other tools and the step's
 * settings (`image:`, `limit:`…) are kept in place; a place tag that still says the same is
 * kept as written (`block:train`, papermill's `parameters`); the others go; what is new is
 * added at the end.
 */
export function editTags(tags: readonly string[], choice: IStepChoice): string[] {
  const wanted: string[] = [];
  if (choice.role === 'step') {
    wanted.push(`step:${choice.step}`);
    for (const previous of choice.prev) {
      if (previous !== choice.step && !wanted.includes(`prev:${previous}`)) {
        wanted.push(`prev:${previous}`);
      }
    }
  } else if (choice.role !== 'join') {
    wanted.push(WRITTEN[choice.role]);
  }
  for (const condition of choice.gate.map(c => c.trim()).filter(Boolean)) {
    if (!wanted.includes(`gate:${condition}`)) {
      wanted.push(`gate:${condition}`);
    }
  }
  const said = (tag: string): string | null => {
    // the wanted tag an existing tag already says, spelled its own way
    const trimmed = tag.trim();
    if (trimmed in ROLE_TAGS) {
      const role = ROLE_TAGS[trimmed];
      return role === choice.role ? WRITTEN[role] : null;
    }
    if (trimmed.startsWith('block:')) {
      return `step:${trimmed.slice('block:'.length)}`;
    }
    if (trimmed.startsWith('gate:')) {
      return `gate:${trimmed.slice('gate:'.length).trim()}`;
    }
    return trimmed;
  };
  // the step or role tag: a new one takes the place of the old one (a renamed step stays first)
  const primary = choice.role === 'join' ? null : wanted[0];
  const isPrimary = (tag: string) => tag.trim() in ROLE_TAGS || /^(step|block):/.test(tag.trim());
  const result: string[] = [];
  const kept = new Set<string>();
  for (const tag of tags) {
    if (!isPlaceTag(tag.trim())) {
      result.push(tag);
      continue;
    }
    const meaning = said(tag);
    if (meaning !== null && wanted.includes(meaning) && !kept.has(meaning)) {
      result.push(tag);
      kept.add(meaning);
    } else if (primary !== null && isPrimary(tag) && !kept.has(primary) &&
               !tags.some(other => said(other) === primary)) {
      result.push(primary);
      kept.add(primary);
    }
  }
  for (const tag of wanted) {
    if (!kept.has(tag)) {
      result.push(tag);
    }
  }
  return result;
}

/**
 * The palette of steps: the n-th step of the notebook (its `colour` in the outline) has the
 * n-th colour, on its chips and on its node in the DAG. Chosen to stay apart in the light and
 * the dark theme; after ten steps the colours come round again.
 */
export const STEP_COLOURS = [
  '#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1',
  '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#7f7f7f'
];

export function stepColour(index: number | undefined | null): string | undefined {
  return index === undefined || index === null ? undefined : STEP_COLOURS[index % STEP_COLOURS.length];
}

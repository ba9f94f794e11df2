import { describe, expect, it } from '@jest/globals';

import { CellRole, editTags, IStepChoice, readChoice, stepColour, stepNameProblem } from '../src/steps';

/** A small seeded generator (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROLES: CellRole[] = ['step', 'join', 'imports', 'functions', 'parameters', 'metrics', 'skip'];
const OTHER_TAGS = ['hide-input', 'raises-exception', 'image:python:3.11', 'limit:memory:4Gi',
                    'cache:disabled', 'retry:2'];
const PLACE_TAGS = ['imports', 'functions', 'parameters', 'pipeline-parameters', 'metrics',
                    'pipeline-metrics', 'skip', 'step:load', 'block:train', 'prev:load',
                    'prev:split', 'gate:accuracy>=0.9', 'gate: f1>=champion'];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)];
}

function someTags(next: () => number): string[] {
  const tags: string[] = [];
  for (let i = Math.floor(next() * 5); i > 0; i--) {
    tags.push(pick(next, next() < 0.5 ? OTHER_TAGS : PLACE_TAGS));
  }
  return tags;
}

function someChoice(next: () => number): IStepChoice {
  const role = pick(next, ROLES);
  const names = ['load', 'split', 'train', 'evaluate'];
  return {
    role,
    step: role === 'step' ? pick(next, names) : '',
    prev: role === 'step' ? names.filter(() => next() < 0.3) : [],
    gate: next() < 0.3 ? [pick(next, ['accuracy>=0.9', 'f1>=champion-0.01'])] : []
  };
}

describe('the tags a step chip writes', () => {
  it('read back as the place chosen, whatever the cell carried before (300 generated cells)', () => {
    const next = random(2026);
    for (let n = 0; n < 300; n++) {
      const before = someTags(next);
      const choice = someChoice(next);
      const after = editTags(before, choice);
      const read = readChoice(after);
      expect(read.role).toBe(choice.role);
      expect(read.step).toBe(choice.step);
      expect(read.prev).toEqual([...new Set(choice.prev.filter(p => p !== choice.step))]);
      expect(read.gate).toEqual(choice.gate);
      // the tags of other tools and the step's settings stay, in their order
      expect(after.filter(t => OTHER_TAGS.includes(t))).toEqual(before.filter(t => OTHER_TAGS.includes(t)));
      // no place tag twice (the other tools' tags are theirs, repeated or not)
      const placed = after.filter(t => !OTHER_TAGS.includes(t));
      expect(new Set(placed).size).toBe(placed.length);
      // choosing the same place again changes nothing
      expect(editTags(after, read)).toEqual(after);
    }
  });

  it('keeps a tag that still says the same as it was written', () => {
    expect(editTags(['block:train', 'hide-input'], { role: 'step', step: 'train', prev: ['load'], gate: [] }))
      .toEqual(['block:train', 'hide-input', 'prev:load']);
    // a renamed step's tag stays where it was
    expect(editTags(['step:evaluate', 'prev:train'], { role: 'step', step: 'score', prev: ['train'], gate: [] }))
      .toEqual(['step:score', 'prev:train']);
    expect(editTags(['hide-input', 'imports'], { role: 'skip', step: '', prev: [], gate: [] }))
      .toEqual(['hide-input', 'skip']);
    expect(editTags(['parameters'], { role: 'parameters', step: '', prev: [], gate: [] }))
      .toEqual(['parameters']);
    expect(editTags(['step:train', 'prev:load'], { role: 'skip', step: '', prev: [], gate: [] }))
      .toEqual(['skip']);
    expect(editTags(['step:train'], { role: 'join', step: '', prev: [], gate: [] })).toEqual([]);
  });

  it('says why a name cannot name a step', () => {
    expect(stepNameProblem('train_2')).toBeNull();
    expect(stepNameProblem('Train')).toMatch(/lower case/);
    expect(stepNameProblem('2nd')).toMatch(/not starting with a digit/);
    expect(stepNameProblem('imports')).toMatch(/reserved/);
    expect(stepNameProblem('class')).toMatch(/reserved/);
    expect(stepNameProblem('')).toMatch(/needs a name/);
  });

  it('gives the n-th step the n-th colour, round again after ten', () => {
    expect(stepColour(0)).not.toBe(stepColour(1));
    expect(stepColour(10)).toBe(stepColour(0));
    expect(stepColour(undefined)).toBeUndefined();
  });
});

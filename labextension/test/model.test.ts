import { describe, expect, it } from '@jest/globals';

import {
  alignCells,
  applyFixedNotebook,
  groupByCell,
  HintsModel,
  IEditableNotebook,
  withCellIds
} from '../src/model';
import { ICheckReply, IDiagnostic, INotebookJSON } from '../src/tokens';

function diagnostic(code: string, cell: number | null, id: string | null = null): IDiagnostic {
  return {
    code,
    name: code.toLowerCase(),
    severity: 'warning',
    message: `${code} message`,
    path: 'nb.ipynb',
    cell: cell === null ? null : { index: cell - 1, number: cell, id },
    location: { row: 1, column: 1 },
    end_location: { row: 1, column: 2 },
    help: null,
    fix: null,
    url: ''
  };
}

const EMPTY: INotebookJSON = { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 };

describe('groupByCell', () => {
  it('puts notebook findings first and cells in notebook order', () => {
    const groups = groupByCell([
      diagnostic('NB105', 7, 'c7'),
      diagnostic('NB303', null),
      diagnostic('NB202', 2, 'c2'),
      diagnostic('NB106', 7, 'c7')
    ]);
    expect(groups.map(g => g.key)).toEqual(['notebook', 'c2', 'c7']);
    expect(groups[2].diagnostics.map(d => d.code)).toEqual(['NB105', 'NB106']);
  });
});

describe('HintsModel', () => {
  it('keeps only the answer to the latest check', async () => {
    const answers: ((reply: ICheckReply) => void)[] = [];
    const model = new HintsModel(
      () => new Promise<ICheckReply>(resolve => answers.push(resolve))
    );
    const first = model.check(EMPTY, 'a.ipynb');
    const second = model.check(EMPTY, 'a.ipynb');
    const maturity = { path: 'a', level: 0, met: 0, total: 6, items: [] };
    answers[1]({ diagnostics: [diagnostic('NB101', 1, 'x')], maturity, fixable: 0 });
    await second;
    answers[0]({ diagnostics: [diagnostic('NB999', 1, 'stale')], maturity, fixable: 0 });
    await first;
    expect(model.diagnostics.map(d => d.code)).toEqual(['NB101']);
    expect(model.answered).toBe(1);
    expect(model.flaggedCells).toEqual(new Set(['x']));
  });

  it('reports a server error and keeps working', async () => {
    let fail = true;
    const model = new HintsModel(async () => {
      if (fail) {
        throw new Error('the nb2pipe server extension is not installed or not enabled');
      }
      return { diagnostics: [], maturity: { path: 'a', level: 1, met: 6, total: 6, items: [] }, fixable: 0 };
    });
    await model.check(EMPTY, 'a.ipynb');
    expect(model.status).toBe('error');
    expect(model.error).toContain('not installed');
    fail = false;
    await model.check(EMPTY, 'a.ipynb');
    expect(model.status).toBe('ready');
  });
});

describe('applyFixedNotebook', () => {
  it('changes sources and tags and inserts new cells in one transaction', () => {
    const cells = [
      { id: 'a', source: 'import numpy as np', tags: [] as string[] },
      { id: 'b', source: 'x = np.random.rand(3)', tags: [] as string[] }
    ];
    let transactions = 0;
    const target: IEditableNotebook = {
      cellIds: () => cells.map(c => c.id),
      cellType: () => 'code',
      deleteCell: id => {
        cells.splice(cells.findIndex(c => c.id === id), 1);
      },
      source: id => cells.find(c => c.id === id)!.source,
      setSource: (id, source) => {
        cells.find(c => c.id === id)!.source = source;
      },
      tags: id => cells.find(c => c.id === id)!.tags,
      setTags: (id, tags) => {
        cells.find(c => c.id === id)!.tags = tags;
      },
      insertCell: (index, cell) => {
        cells.splice(index, 0, { id: cell.id ?? 'new', source: cell.source, tags: cell.tags });
      },
      transact: change => {
        transactions += 1;
        change();
      }
    };
    const fixed: INotebookJSON = {
      ...EMPTY,
      cells: [
        { id: 'a', cell_type: 'code', source: ['import numpy as np'], metadata: {} },
        { id: 'p', cell_type: 'code', source: 'SEED = 42', metadata: { tags: ['parameters'] } },
        { id: 'b', cell_type: 'code', source: 'np.random.seed(SEED)\nx = np.random.rand(3)', metadata: {} }
      ]
    };
    expect(applyFixedNotebook(target, fixed)).toBe(2);
    expect(transactions).toBe(1);
    expect(cells.map(c => c.id)).toEqual(['a', 'p', 'b']);
    expect(cells[1].tags).toEqual(['parameters']);
    expect(cells[2].source).toContain('np.random.seed(SEED)');
  });
});

/** A notebook as the shared model holds it: every cell has an id, and outputs stay. */
interface IFakeCell {
  id: string;
  type: string;
  source: string;
  tags: string[];
  outputs: string;
}

function fake(cells: IFakeCell[]): IEditableNotebook {
  let next = 0;
  const find = (id: string) => cells.find(c => c.id === id)!;
  return {
    cellIds: () => cells.map(c => c.id),
    cellType: id => find(id).type,
    source: id => find(id).source,
    setSource: (id, source) => {
      find(id).source = source;
    },
    tags: id => find(id).tags.slice(),
    setTags: (id, tags) => {
      find(id).tags = tags;
    },
    insertCell: (index, cell) => {
      const id = cell.id ?? `new-${next++}`;
      expect(cells.some(c => c.id === id)).toBe(false);
      cells.splice(index, 0, { id, type: cell.cell_type, source: cell.source, tags: cell.tags, outputs: '' });
    },
    deleteCell: id => {
      cells.splice(cells.findIndex(c => c.id === id), 1);
    },
    transact: change => change()
  };
}

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('applyFixedNotebook on notebooks without cell ids (nbformat 4.0-4.4)', () => {
  const oldFormat = (sources: string[]): INotebookJSON => ({
    cells: sources.map(source => ({ cell_type: 'code', source, metadata: {} })),
    metadata: {},
    nbformat: 4,
    nbformat_minor: 4
  });

  it('sends ids the panel knows, as nbformat 4.5', () => {
    const sent = withCellIds(oldFormat(['a = 1', 'b = 2']), ['x', 'y']);
    expect(sent.nbformat_minor).toBe(5);
    expect(sent.cells.map(c => c.id)).toEqual(['x', 'y']);
  });

  it('never inserts a cell twice when the reply has no ids (the doubling bug)', () => {
    const cells: IFakeCell[] = ['import os', 'x = 1\nimport pandas as pd', 'print(x)'].map(
      (source, k) => ({ id: `c${k}`, type: 'code', source, tags: [], outputs: `out${k}` })
    );
    const reply = oldFormat(['import os\nimport pandas as pd', 'x = 1', 'print(x)']);
    applyFixedNotebook(fake(cells), reply);
    expect(cells.map(c => c.source)).toEqual(reply.cells.map(c => c.source));
    expect(cells.map(c => c.outputs)).toEqual(['out0', 'out1', 'out2']);
  });

  it('removes the cells a fix emptied and keeps the outputs of the others', () => {
    const cells: IFakeCell[] = ['import os', 'print(1)', 'import sys', 'print(2)'].map(
      (source, k) => ({ id: `c${k}`, type: 'code', source, tags: [], outputs: `out${k}` })
    );
    const reply = withCellIds(oldFormat(['import os\nimport sys', 'print(1)', 'print(2)']), []);
    applyFixedNotebook(fake(cells), reply);
    expect(cells.map(c => c.source)).toEqual(['import os\nimport sys', 'print(1)', 'print(2)']);
    expect(cells.map(c => c.outputs)).toEqual(['out0', 'out1', 'out3']);
  });

  it('matches any edit of any notebook, with ids or without (generated cases)', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const draw = random(seed);
      const size = Math.floor(draw() * 12);
      const cells: IFakeCell[] = Array.from({ length: size }, (_, k) => ({
        id: `c${k}`,
        type: draw() < 0.25 ? 'markdown' : 'code',
        source: draw() < 0.2 ? '' : `x${Math.floor(draw() * 5)} = ${k}`,
        tags: [],
        outputs: `out${k}`
      }));
      // the fix: change, remove, insert cells at random
      const fixed: { id?: string; cell_type: string; source: string; metadata: any }[] = [];
      for (const cell of cells) {
        const roll = draw();
        if (roll < 0.15) {
          continue; // removed
        }
        if (roll < 0.3) {
          fixed.push({ cell_type: 'code', source: `new = ${seed}`, metadata: { tags: ['parameters'] } });
        }
        fixed.push({
          id: cell.id,
          cell_type: cell.type,
          source: roll < 0.5 ? `${cell.source}\nchanged()` : cell.source,
          metadata: {}
        });
      }
      const withIds = draw() < 0.5;
      const reply: INotebookJSON = {
        cells: fixed.map(c => (withIds ? c : { ...c, id: undefined })),
        metadata: {},
        nbformat: 4,
        nbformat_minor: withIds ? 5 : 4
      };
      const copy = cells.map(c => ({ ...c }));
      applyFixedNotebook(fake(copy), reply);
      const label = `seed ${seed}`;
      expect([label, copy.map(c => [c.type, c.source])]).toEqual([
        label,
        fixed.map(c => [c.cell_type, c.source])
      ]);
      expect(new Set(copy.map(c => c.id)).size).toBe(copy.length);
      if (withIds) {
        // with ids, every kept cell keeps its own outputs
        for (const cell of copy.filter(c => !c.id.startsWith('new'))) {
          expect(cell.outputs).toBe(`out${cell.id.slice(1)}`);
        }
      }
    }
  });

  it('pairs by id first, then by content, then by position', () => {
    const pairs = alignCells(
      [{ id: 'a', type: 'code', source: '1' }, { type: 'code', source: '2' }, { type: 'code', source: '3' }],
      [{ id: 'a', type: 'code', source: '1' }, { type: 'code', source: '3' }]
    );
    expect(pairs).toEqual([[0, 0], [1, null], [2, 1]]);
  });
});

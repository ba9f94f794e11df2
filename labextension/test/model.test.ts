import { describe, expect, it } from '@jest/globals';

import { applyFixedNotebook, groupByCell, HintsModel, IEditableNotebook } from '../src/model';
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

/**
 * The hints model: the findings and checklist of one notebook, with no DOM.
 *
 * It owns the state, runs checks (dropping replies that arrive after a newer request), and
 * emits `changed` for the view.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { ICheckReply, IDiagnostic, IMaturity, INotebookJSON, IStepOutline } from './tokens';

export type Status = 'idle' | 'checking' | 'ready' | 'error';

export type Checker = (notebook: INotebookJSON, path: string) => Promise<ICheckReply>;

export interface ICellGroup {
  /** The cell's id, or `notebook` for findings about the whole notebook. */
  key: string;
  cellId: string | null;
  cellNumber: number | null;
  diagnostics: IDiagnostic[];
}

export class HintsModel {
  constructor(private readonly checker: Checker) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get status(): Status {
    return this._status;
  }

  get error(): string | null {
    return this._error;
  }

  get diagnostics(): IDiagnostic[] {
    return this._diagnostics;
  }

  get maturity(): IMaturity | null {
    return this._maturity;
  }

  /** The pipeline and step of a notebook nb2pipe generated, else null. */
  get generated(): { pipeline: string; step: string } | null {
    return this._generated;
  }

  /** The steps as tagged in the last answer (null: the notebook has no pipeline tag). */
  get steps(): IStepOutline | null {
    return this._steps;
  }

  /** How many checks were answered (stale answers are not counted). */
  get answered(): number {
    return this._answered;
  }

  /** Findings grouped by cell, notebook-level findings first, cells in notebook order. */
  get groups(): ICellGroup[] {
    return groupByCell(this._diagnostics);
  }

  /** Cell ids with at least one finding (for the markers next to the cells). */
  get flaggedCells(): Set<string> {
    return new Set(
      this._diagnostics.map(d => d.cell?.id).filter((id): id is string => !!id)
    );
  }

  clear(): void {
    this._request += 1;
    this._diagnostics = [];
    this._maturity = null;
    this._generated = null;
    this._steps = null;
    this._status = 'idle';
    this._error = null;
    this._changed.emit();
  }

  async check(notebook: INotebookJSON, path: string): Promise<void> {
    const request = ++this._request;
    this._status = 'checking';
    this._changed.emit();
    try {
      const reply = await this.checker(notebook, path);
      if (request !== this._request) {
        return; // a newer check is on its way: this answer is stale
      }
      this._diagnostics = reply.diagnostics;
      this._maturity = reply.maturity;
      this._generated = reply.generated ?? null;
      this._steps = reply.steps ?? null;
      this._status = 'ready';
      this._error = null;
      this._answered += 1;
    } catch (error) {
      if (request !== this._request) {
        return;
      }
      this._status = 'error';
      this._error = error instanceof Error ? error.message : String(error);
    }
    this._changed.emit();
  }

  private _request = 0;
  private _answered = 0;
  private _status: Status = 'idle';
  private _error: string | null = null;
  private _diagnostics: IDiagnostic[] = [];
  private _maturity: IMaturity | null = null;
  private _generated: { pipeline: string; step: string } | null = null;
  private _steps: IStepOutline | null = null;
  private _changed = new Signal<this, void>(this);
}

export function groupByCell(diagnostics: IDiagnostic[]): ICellGroup[] {
  const groups = new Map<string, ICellGroup>();
  for (const diagnostic of diagnostics) {
    const key = diagnostic.cell ? diagnostic.cell.id ?? `#${diagnostic.cell.index}` : 'notebook';
    let group = groups.get(key);
    if (!group) {
      group = {
        key,
        cellId: diagnostic.cell?.id ?? null,
        cellNumber: diagnostic.cell?.number ?? null,
        diagnostics: []
      };
      groups.set(key, group);
    }
    group.diagnostics.push(diagnostic);
  }
  return [...groups.values()].sort(
    (a, b) => (a.cellNumber ?? -1) - (b.cellNumber ?? -1)
  );
}

/**
 * The notebook as the server should see it: JupyterLab's `toJSON()` leaves cell ids out for
 * nbformat < 4.5 (most notebooks on GitHub), so each cell gets the id of its cell in the
 * shared model, and the copy says 4.5. The replies then name every cell by an id the panel
 * knows: findings mark their cells, and a fixed notebook maps back cell by cell.
 */
export function withCellIds(notebook: INotebookJSON, ids: string[]): INotebookJSON {
  if (ids.length !== notebook.cells.length) {
    return notebook; // the model changed under us: send it as it is (cells align by content)
  }
  return {
    ...notebook,
    nbformat: 4,
    nbformat_minor: Math.max(notebook.nbformat_minor ?? 0, 5),
    cells: notebook.cells.map((cell, index) => ({ ...cell, id: ids[index] }))
  };
}

/** Edits the panel makes to the open notebook (through its shared model: undoable). */
export interface IEditableNotebook {
  cellIds(): string[];
  cellType(id: string): string;
  source(id: string): string;
  setSource(id: string, source: string): void;
  tags(id: string): string[];
  setTags(id: string, tags: string[]): void;
  insertCell(index: number, cell: { id?: string; cell_type: string; source: string; tags: string[] }): void;
  deleteCell(id: string): void;
  transact(change: () => void): void;
}

interface ICellKey {
  id?: string;
  type: string;
  source: string;
}

/**
 * Pairs the cells of the open notebook (`before`) with those of a fixed copy (`after`):
 * `[i, j]` for the same cell, `[i, null]` for a cell the fix removed, `[null, j]` for one it
 * added. Cells are matched by id first; where ids are missing or new (a notebook without
 * ids, a server that dropped them), by identical content in order (a longest common
 * subsequence), then by position among the cells left between two matches, of the same
 * type. No cell of `after` is ever paired twice, so none is inserted twice.
 */
export function alignCells(before: ICellKey[], after: ICellKey[]): [number | null, number | null][] {
  const pairs: [number | null, number | null][] = [];
  // 1. ids, kept only where they go forward in both lists
  const index = new Map<string, number>();
  before.forEach((cell, i) => cell.id && !index.has(cell.id) && index.set(cell.id, i));
  const anchors: [number, number][] = [];
  after.forEach((cell, j) => {
    const i = cell.id !== undefined ? index.get(cell.id) : undefined;
    if (i !== undefined && (anchors.length === 0 || i > anchors[anchors.length - 1][0])) {
      anchors.push([i, j]);
    }
  });
  let i0 = 0;
  let j0 = 0;
  for (const [i1, j1] of [...anchors, [before.length, after.length] as [number, number]]) {
    alignGap(before, after, i0, i1, j0, j1, pairs);
    if (i1 < before.length) {
      pairs.push([i1, j1]);
    }
    i0 = i1 + 1;
    j0 = j1 + 1;
  }
  return pairs;
}

function alignGap(before: ICellKey[], after: ICellKey[], i0: number, i1: number, j0: number,
                  j1: number, pairs: [number | null, number | null][]): void {
  // 2. identical content, in order (LCS over the gap)
  const n = i1 - i0;
  const m = j1 - j0;
  const same = (i: number, j: number) =>
    before[i].type === after[j].type && before[i].source === after[j].source;
  const table: number[][] = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] = same(i0 + i, j0 + j)
        ? table[i + 1][j + 1] + 1
        : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const matches: [number, number][] = [];
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (same(i0 + i, j0 + j)) {
      matches.push([i0 + i, j0 + j]);
      i++;
      j++;
    } else if (table[i + 1][j] >= table[i][j + 1]) {
      i++;
    } else {
      j++;
    }
  }
  // 3. between those, by position among the cells of the same type
  let a = i0;
  let b = j0;
  for (const [i, j] of [...matches, [i1, j1] as [number, number]]) {
    const left = range(a, i);
    const right = range(b, j);
    while (left.length || right.length) {
      if (left.length && right.length && before[left[0]].type === after[right[0]].type) {
        pairs.push([left.shift()!, right.shift()!]);
      } else if (left.length && (!right.length || left.length > right.length)) {
        pairs.push([left.shift()!, null]);
      } else {
        pairs.push([null, right.shift()!]);
      }
    }
    if (i < i1) {
      pairs.push([i, j]);
    }
    a = i + 1;
    b = j + 1;
  }
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, k) => start + k);
}

function text(source: string | string[]): string {
  return Array.isArray(source) ? source.join('') : source;
}

/**
 * Apply a fixed notebook to the open one, in one undoable transaction: changed sources and
 * tags, new cells, removed cells; outputs and the rest of each cell stay as they are. Returns
 * the number of changes.
 */
export function applyFixedNotebook(target: IEditableNotebook, fixed: INotebookJSON): number {
  let changes = 0;
  target.transact(() => {
    const ids = target.cellIds();
    const before = ids.map(id => ({ id, type: target.cellType(id), source: target.source(id) }));
    const after = fixed.cells.map(cell => ({
      id: cell.id,
      type: cell.cell_type,
      source: text(cell.source)
    }));
    const pairs = alignCells(before, after);
    // removed cells first (by id), then new cells at their place in the fixed notebook
    for (const [i, j] of pairs) {
      if (i !== null && j === null) {
        target.deleteCell(ids[i]);
        changes += 1;
      }
    }
    for (const [i, j] of pairs) {
      if (j === null) {
        continue;
      }
      const cell = fixed.cells[j];
      const tags = ((cell.metadata?.tags as string[]) ?? []).slice();
      if (i === null) {
        const known = cell.id && ids.includes(cell.id);
        target.insertCell(j, {
          id: known ? undefined : cell.id,
          cell_type: cell.cell_type,
          source: after[j].source,
          tags
        });
        changes += 1;
        continue;
      }
      const id = ids[i];
      if (target.source(id) !== after[j].source) {
        target.setSource(id, after[j].source);
        changes += 1;
      }
      if (target.tags(id).join('\u0000') !== tags.join('\u0000')) {
        target.setTags(id, tags);
        changes += 1;
      }
    }
  });
  return changes;
}

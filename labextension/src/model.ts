/**
 * The hints model: the findings and checklist of one notebook, with no DOM.
 *
 * It owns the state, runs checks (dropping replies that arrive after a newer request), and
 * emits `changed` for the view.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { ICheckReply, IDiagnostic, IMaturity, INotebookJSON } from './tokens';

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

/** Apply a fixed notebook to the current one: the cells' sources, tags and new cells. */
export interface IEditableNotebook {
  cellIds(): string[];
  source(id: string): string;
  setSource(id: string, source: string): void;
  tags(id: string): string[];
  setTags(id: string, tags: string[]): void;
  insertCell(index: number, cell: { id?: string; cell_type: string; source: string; tags: string[] }): void;
  transact(change: () => void): void;
}

export function applyFixedNotebook(target: IEditableNotebook, fixed: INotebookJSON): number {
  let changes = 0;
  target.transact(() => {
    const existing = new Set(target.cellIds());
    fixed.cells.forEach((cell, index) => {
      const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
      const tags = ((cell.metadata?.tags as string[]) ?? []).slice();
      if (cell.id && existing.has(cell.id)) {
        if (target.source(cell.id) !== source) {
          target.setSource(cell.id, source);
          changes += 1;
        }
        const current = target.tags(cell.id);
        if (current.join('\u0000') !== tags.join('\u0000')) {
          target.setTags(cell.id, tags);
          changes += 1;
        }
      } else {
        target.insertCell(index, { id: cell.id, cell_type: cell.cell_type, source, tags });
        changes += 1;
      }
    });
  });
  return changes;
}

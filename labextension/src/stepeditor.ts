/**
 * Steps in the cells, as Kale's users expect them: a chip above each code cell of a tagged
 * notebook names the cell's step (in its step's colour, the colour of its node in the DAG);
 * clicking it opens a form that sets the step (existing or new), what it runs after, skip,
 * imports, parameters, metrics and the gate. The form writes the tags of docs/tags.md through
 * the notebook's model, so the notebook's undo takes them back.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { CellRole, editTags, IStepChoice, readChoice, stepColour, stepNameProblem } from './steps';
import { ICellPlace, IStepOutline } from './tokens';

/** A cell of an open notebook. */
export type Cell = NotebookPanel['content']['widgets'][number];

const CHIP = 'nb2pipe-step-chip';
const WITH_CHIP = 'nb2pipe-with-step-chip';

/** The outline's entry for the cell at `index` of the open notebook. */
export function placeOf(outline: IStepOutline, cell: Cell, index: number): ICellPlace | undefined {
  const byId = outline.cells.find(place => place.id !== null && place.id === cell.model.id);
  if (byId || outline.cells.some(place => place.id !== null)) {
    return byId;
  }
  return outline.cells.find(place => place.index === index); // no ids came back
}

/**
 * Show each code cell's step on a chip in its header (tagged notebooks only), or take the
 * chips away (`outline` null). Cells not drawn yet get theirs at the next call.
 */
export function renderChips(panel: NotebookPanel, outline: IStepOutline | null,
                            edit: (cell: Cell) => void, trans: TranslationBundle): void {
  const colours = new Map((outline?.steps ?? []).map(step => [step.name, step.colour]));
  panel.content.widgets.forEach((cell, index) => {
    const header = cell.node.querySelector(':scope > .jp-CellHeader');
    let chip = header?.querySelector(`:scope > .${CHIP}`) as HTMLButtonElement | null;
    if (!outline || cell.model.type !== 'code' || !header) {
      chip?.remove();
      cell.removeClass(WITH_CHIP);
      return;
    }
    if (!chip) {
      chip = document.createElement('button');
      chip.type = 'button';
      chip.className = CHIP;
      chip.addEventListener('click', event => {
        event.stopPropagation();
        edit(cell);
      });
      header.appendChild(chip);
    }
    cell.addClass(WITH_CHIP);
    const place = placeOf(outline, cell, index);
    const role = place?.role ?? null;
    const step = place?.step ?? null;
    const colour = step !== null ? colours.get(step) : undefined;
    const label = role === 'step' || role === 'metrics' ? step ?? '' : role ?? trans.__('no step');
    // called at every edit: the DOM is touched only where the chip changes
    const set = (target: { [key: string]: any }, key: string, value: string) => {
      if (target[key] !== value) {
        target[key] = value;
      }
    };
    set(chip, 'textContent', label);
    set(chip.dataset, 'role', role ?? 'none');
    set(chip.dataset, 'step', step ?? '');
    set(chip.dataset, 'colour', colour === undefined ? '' : String(colour));
    chip.classList.toggle('nb2pipe-step-chip-joined', !!place && !place.own);
    const shade = stepColour(colour) ?? 'var(--jp-border-color1)';
    if (chip.style.getPropertyValue('--nb2pipe-step-colour') !== shade) {
      chip.style.setProperty('--nb2pipe-step-colour', shade);
    }
    const title = !place
      ? trans.__('Not checked yet: click to set this cell\'s step')
      : role === null
        ? trans.__('In no step (before the first tagged cell): click to set one')
        : place.own
          ? trans.__('%1 — click to change: step, runs after, skip, imports, parameters, metrics, gate', label)
          : trans.__('%1 (joins the cell above) — click to give this cell its own tag', label);
    set(chip, 'title', title);
  });
}

/**
 * The form of the chip: what this cell is in the pipeline. `getValue()` is the choice, or a
 * problem to show instead of writing anything.
 */
class StepForm extends Widget {
  constructor(current: IStepChoice, earlier: string[], existing: string[], trans: TranslationBundle) {
    super();
    this.addClass('nb2pipe-step-form');
    const roles: [CellRole, string][] = [
      ['step', trans.__('a step')],
      ['join', trans.__('part of the cell above (no tag)')],
      ['imports', trans.__('imports (shared by every step)')],
      ['functions', trans.__('functions (shared by every step)')],
      ['parameters', trans.__('the pipeline\'s parameters')],
      ['metrics', trans.__('the pipeline\'s metrics')],
      ['skip', trans.__('skipped (not in the pipeline)')]
    ];
    const role = (this._role = document.createElement('select'));
    role.className = 'nb2pipe-step-role';
    for (const [value, text] of roles) {
      role.add(new Option(text, value, false, value === current.role));
    }
    const name = (this._name = document.createElement('input'));
    name.className = 'nb2pipe-step-name';
    name.value = current.step;
    name.placeholder = trans.__('e.g. train');
    name.setAttribute('list', 'nb2pipe-step-names');
    const names = document.createElement('datalist');
    names.id = 'nb2pipe-step-names';
    for (const step of existing) {
      names.appendChild(new Option(step, step));
    }
    const problem = document.createElement('div');
    problem.className = 'nb2pipe-step-problem';
    problem.setAttribute('role', 'alert');
    const after = document.createElement('fieldset');
    after.className = 'nb2pipe-step-after';
    const legend = document.createElement('legend');
    legend.textContent = earlier.length
      ? trans.__('Runs after (even when no data flows)')
      : trans.__('Runs after: no step above this cell');
    after.appendChild(legend);
    for (const step of earlier) {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = step;
      box.checked = current.prev.includes(step);
      this._after.push(box);
      label.append(box, ` ${step}`);
      after.appendChild(label);
    }
    const gate = (this._gate = document.createElement('input'));
    gate.className = 'nb2pipe-step-gate';
    gate.value = current.gate.join(', ');
    gate.placeholder = 'accuracy>=0.9, f1>=champion';
    const row = (text: string, ...content: HTMLElement[]) => {
      const label = document.createElement('label');
      label.className = 'nb2pipe-step-row';
      const span = document.createElement('span');
      span.textContent = text;
      label.append(span, ...content);
      return label;
    };
    const stepRow = row(trans.__('Step'), name, names);
    this.node.append(
      row(trans.__('This cell is'), role), stepRow, problem, after,
      row(trans.__('Model gate'), gate)
    );
    const refresh = () => {
      const isStep = role.value === 'step';
      stepRow.hidden = !isStep;
      after.hidden = !isStep;
      const text = isStep ? stepNameProblem(name.value.trim()) : null;
      problem.textContent = text && name.value ? text : '';
    };
    role.addEventListener('change', refresh);
    name.addEventListener('input', refresh);
    refresh();
  }

  getValue(): IStepChoice | { problem: string } {
    const role = this._role.value as CellRole;
    const step = this._name.value.trim();
    if (role === 'step') {
      const problem = stepNameProblem(step);
      if (problem) {
        return { problem: `step "${step}": ${problem}` };
      }
    }
    return {
      role,
      step: role === 'step' ? step : '',
      prev: role === 'step' ? this._after.filter(box => box.checked && box.value !== step).map(box => box.value) : [],
      gate: this._gate.value.split(',').map(c => c.trim()).filter(Boolean)
    };
  }

  private _role: HTMLSelectElement;
  private _name: HTMLInputElement;
  private _gate: HTMLInputElement;
  private _after: HTMLInputElement[] = [];
}

/**
 * Open the form for `cell` and write what the user chose as its tags, in one transaction of
 * the notebook's model (undoable). Returns a problem to show, or null.
 */
export async function editStep(panel: NotebookPanel, cell: Cell, outline: IStepOutline | null,
                               trans: TranslationBundle): Promise<string | null> {
  const index = panel.content.widgets.indexOf(cell);
  const tags = ((cell.model.getMetadata('tags') as string[] | undefined) ?? []).slice();
  const current = readChoice(tags);
  const steps = outline?.steps.filter(step => step.name !== 'metrics') ?? [];
  const firstCell = new Map<string, number>();
  for (const place of outline?.cells ?? []) {
    if (place.role === 'step' && place.step && !firstCell.has(place.step)) {
      firstCell.set(place.step, place.index);
    }
  }
  const earlier = steps
    .filter(step => (firstCell.get(step.name) ?? Infinity) < index)
    .map(step => step.name);
  const form = new StepForm(current, earlier, steps.map(step => step.name), trans);
  const result = await showDialog({
    title: trans.__('Pipeline step of cell %1', index + 1),
    body: form,
    focusNodeSelector: 'select',
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Set') })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  const value = result.value as IStepChoice | { problem: string };
  if ('problem' in value) {
    return trans.__('Not tagged: %1', value.problem);
  }
  const written = editTags(tags, value);
  if (written.join('\u0000') === tags.join('\u0000')) {
    return null;
  }
  const shared = panel.context.model.sharedModel;
  shared.transact(() => {
    if (written.length) {
      cell.model.sharedModel.setMetadata('tags', written);
    } else {
      cell.model.sharedModel.deleteMetadata('tags');
    }
  });
  return null;
}

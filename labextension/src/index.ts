/**
 * Wiring only: the "MLOps hints" sidebar follows the current notebook, checks it with the
 * nb2pipe server extension when edits settle, marks the cells with findings, applies fixes
 * through the notebook model (so they can be undone) and converts the notebook.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { checkIcon } from '@jupyterlab/ui-components';

import { applyFixedNotebook, HintsModel, IEditableNotebook, withCellIds } from './model';
import { HintsPanel } from './panel';
import { PipelineView } from './pipelineview';
import { RequestError, requestAPI } from './request';
import { openRulePage } from './rulepage';
import { Cell, editStep, renderChips } from './stepeditor';
import {
  CommandIDs,
  ICheckReply,
  IConvertReply,
  IFixReply,
  INotebookJSON,
  IRunsReply,
  PLUGIN_ID
} from './tokens';

const FLAGGED = 'nb2pipe-flagged';

interface IFixable {
  code: string;
  fix?: { applicability: 'safe' | 'unsafe' } | null;
  cell?: { index: number } | null;
  location?: { row: number; column: number };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'MLOps hints for notebooks, from nb2pipe.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, ITranslator, ICommandPalette, IRenderMimeRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    rendermime: IRenderMimeRegistry | null
  ) => {
    const trans = (translator ?? nullTranslator).load('nb2pipe');
    const options = { select: [] as string[], ignore: [] as string[], debounce: 300 };
    const model = new HintsModel((notebook, path) =>
      requestAPI<ICheckReply>('check', {
        method: 'POST',
        body: JSON.stringify({
          notebook,
          path,
          select: options.select.length ? options.select : undefined,
          ignore: options.ignore
        })
      })
    );

    let current: NotebookPanel | null = null;
    let timer: number | undefined;
    let dirty = false;

    const checkNow = (): void => {
      window.clearTimeout(timer);
      if (!current || !current.context.isReady) {
        return;
      }
      if (!panel.isVisible) {
        dirty = true; // no work while hidden: check when shown
        return;
      }
      dirty = false;
      const notebook = notebookJSON(current);
      void model.check(notebook, current.context.path);
    };
    const schedule = (): void => {
      window.clearTimeout(timer);
      timer = window.setTimeout(checkNow, options.debounce);
    };

    const markCells = (): void => {
      if (!current) {
        return;
      }
      const flagged = model.flaggedCells;
      for (const cell of current.content.widgets) {
        cell.toggleClass(FLAGGED, flagged.has(cell.model.id));
      }
    };
    model.changed.connect(markCells);

    // The step chips on the cells (tagged notebooks), and the form behind them.
    const showChips = (): void => {
      if (current) {
        renderChips(current, model.steps, cell => void editCellStep(cell), trans);
      }
    };
    const editCellStep = async (cell: Cell): Promise<void> => {
      if (!current) {
        return;
      }
      // a refused edit says why where the fixes' problems show; a done one clears it
      panel.state.fixError = await editStep(current, cell, model.steps, trans);
      panel.update();
    };
    model.changed.connect(showChips);

    // Runs of the converted pipeline: polled every second while one goes.
    let polling: number | undefined;
    const refreshRuns = async (): Promise<void> => {
      const pipeline = panel.state.conversion?.output;
      if (!pipeline) {
        return;
      }
      try {
        const reply = await requestAPI<IRunsReply>('runs', {
          method: 'POST',
          body: JSON.stringify({ pipeline })
        });
        if (panel.state.conversion?.output !== pipeline) {
          return; // another notebook meanwhile
        }
        panel.state.runs = reply;
        panel.state.runError = null;
      } catch (error) {
        panel.state.runError = trans.__('Cannot read the runs: %1', describe(error));
      }
      panel.update();
      window.clearTimeout(polling);
      if (panel.state.runs?.active) {
        polling = window.setTimeout(() => void refreshRuns(), 1000);
      }
    };
    /** After a reload: a notebook converted before shows its pipeline and runs again. */
    const findPipeline = async (path: string): Promise<void> => {
      const pipeline = path.replace(/\.ipynb$/, '-pipeline');
      try {
        const reply = await requestAPI<IRunsReply>('runs', {
          method: 'POST',
          body: JSON.stringify({ pipeline })
        });
        if (panel.state.notebook !== path || panel.state.conversion) {
          return;
        }
        panel.state.conversion = {
          ...reply.summary, files: reply.files ?? [], warnings: [], restored: true
        };
        panel.state.runs = reply;
        panel.update();
        if (reply.active) {
          void refreshRuns();
        }
      } catch {
        // not converted (404): nothing to show
      }
    };

    const actions = {
      selectCell: (cellId: string | null, cellNumber: number | null) => {
        if (!current) {
          return;
        }
        const content = current.content;
        let index = content.widgets.findIndex(cell => cell.model.id === cellId);
        if (index < 0 && cellNumber !== null) {
          index = cellNumber - 1;
        }
        if (index < 0 || index >= content.widgets.length) {
          return;
        }
        content.activeCellIndex = index;
        void content.scrollToItem(index, 'center');
        current.content.activate();
      },
      applyFix: async (diagnostic: IFixable, scope: 'one' | 'all' = 'all') => {
        if (!current) {
          return;
        }
        panel.state.fixing = diagnostic.code;
        panel.state.fixError = null;
        panel.state.fixNote = null;
        panel.update();
        try {
          const notebook = notebookJSON(current);
          const reply = await requestAPI<IFixReply>('fix', {
            method: 'POST',
            body: JSON.stringify({
              notebook,
              path: current.context.path,
              codes: [diagnostic.code],
              // "Fix" fixes the finding clicked; "Fix all NBxxx" every one of the rule
              only:
                scope === 'one' && diagnostic.cell
                  ? { cell: diagnostic.cell.index, ...diagnostic.location }
                  : undefined,
              // pressing the button of an unsafe fix (like "Tag steps") is the user's consent
              unsafe: diagnostic.fix?.applicability === 'unsafe'
            })
          });
          applyFixedNotebook(editable(current), reply.notebook);
          if (reply.declared) {
            // the fix imports a package: the project's requirements now declare it
            panel.state.fixNote = {
              text: trans.__('The fix imports what %1 now declares: %2.', reply.declared.file,
                             reply.declared.lines.join(', ')),
              file: reply.declared.file
            };
          }
        } catch (error) {
          panel.state.fixError = trans.__('The fix failed: %1', describe(error));
        }
        panel.state.fixing = null;
        panel.update();
        checkNow();
      },
      convert: async () => {
        if (!current) {
          return;
        }
        panel.state.converting = true;
        panel.state.conversionError = null;
        panel.state.conversionProblems = [];
        panel.state.conversion = null;
        panel.update();
        try {
          await current.context.save();
          panel.state.conversion = await requestAPI<IConvertReply>('convert', {
            method: 'POST',
            body: JSON.stringify({ path: current.context.path })
          });
          panel.state.runs = null;
          void refreshRuns();
          openPipeline(panel.state.conversion.output, false); // beside the notebook
        } catch (error) {
          panel.state.conversionError = trans.__('Not converted: %1', describe(error));
          const body = error instanceof RequestError ? (error.body as any) : null;
          panel.state.conversionProblems = body?.diagnostics ?? [];
        }
        panel.state.converting = false;
        panel.update();
      },
      recheck: checkNow,
      startRun: async (values: Record<string, string>, tracking: boolean, resume?: string) => {
        const pipeline = panel.state.conversion?.output;
        if (!pipeline) {
          return;
        }
        panel.state.runError = await startOnServer(pipeline, values, tracking, resume, trans);
        await refreshRuns();
      },
      stopRun: async () => {
        const pipeline = panel.state.conversion?.output;
        if (!pipeline) {
          return;
        }
        panel.state.runError = await stopOnServer(pipeline, trans);
        await refreshRuns();
      },
      openStep: (notebook: string, cell: number | null) => {
        void app.commands.execute('docmanager:open', { path: notebook }).then(async widget => {
          const opened = widget as NotebookPanel;
          if (cell === null || !opened?.context) {
            return;
          }
          await opened.context.ready;
          // the executed step notebook marks each cell with the user's cell number
          const index = opened.content.widgets.findIndex(
            c => (c.model.getMetadata('nb2pipe') as any)?.cell === cell
          );
          if (index >= 0) {
            opened.content.activeCellIndex = index;
            void opened.content.scrollToItem(index, 'center');
          }
        });
      },
      openFile: (path: string) => {
        void app.commands.execute('docmanager:open', { path });
      },
      openSettings: () => {
        void app.commands.execute('settingeditor:open', { query: 'MLOps hints' });
      },
      openRule: (code: string) => {
        void app.commands.execute(CommandIDs.openRule, { code });
      },
      openPipeline: (pipeline: string) => openPipeline(pipeline, true)
    };

    // The pipeline views: a main-area tab per converted folder.
    const views = new Map<string, PipelineView>();
    function openPipeline(pipeline: string, activate: boolean): void {
      let view = views.get(pipeline);
      if (!view || view.isDisposed) {
        const created: PipelineView = new PipelineView(pipeline, {
          fetchRuns: async (folder: string) => requestAPI<IRunsReply>('runs', {
            method: 'POST',
            body: JSON.stringify({ pipeline: folder })
          }),
          startRun: async (values: Record<string, string>, tracking: boolean, resume?: string) => {
            created.runError = await startOnServer(pipeline, values, tracking, resume, trans);
            void refreshRuns(); // the panel follows the same pipeline
          },
          stopRun: async () => {
            created.runError = await stopOnServer(pipeline, trans);
          },
          openStep: actions.openStep
        }, trans);
        view = created;
        views.set(pipeline, view);
        // asked for: beside the notebook; after a conversion: a tab behind it
        app.shell.add(view, 'main', { mode: activate ? 'split-right' : 'tab-after', activate });
      } else if (activate) {
        app.shell.activateById(view.id);
      }
      void view.refresh();
    }

    const panel = new HintsPanel(model, actions, trans);
    panel.id = 'nb2pipe-hints';
    panel.title.icon = checkIcon;
    panel.title.caption = trans.__('MLOps hints');
    panel.shown.connect(() => {
      if (dirty) {
        checkNow();
      }
    });
    app.shell.add(panel, 'right', { rank: 650 });

    const follow = (notebook: NotebookPanel | null): void => {
      if (current) {
        current.context.model.contentChanged.disconnect(schedule);
        current.content.modelContentChanged.disconnect(markCells);
        current.content.modelContentChanged.disconnect(showChips);
        current.content.cellInViewportChanged.disconnect(showChips);
        for (const cell of current.content.widgets) {
          cell.removeClass(FLAGGED);
        }
        renderChips(current, null, () => undefined, trans);
      }
      current = notebook;
      model.clear();
      panel.state.notebook = notebook ? notebook.context.path : null;
      panel.state.conversion = null;
      panel.state.conversionError = null;
      panel.state.runs = null;
      panel.state.runError = null;
      window.clearTimeout(polling);
      panel.update();
      if (!notebook) {
        return;
      }
      void findPipeline(notebook.context.path);
      void notebook.context.ready.then(() => {
        if (current !== notebook) {
          return;
        }
        notebook.context.model.contentChanged.connect(schedule);
        notebook.content.modelContentChanged.connect(markCells);
        notebook.content.modelContentChanged.connect(showChips);
        notebook.content.cellInViewportChanged.connect(showChips);
        checkNow();
      });
    };
    tracker.currentChanged.connect((_, notebook) => follow(notebook));
    follow(tracker.currentWidget);

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Show MLOps Hints'),
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.check, {
      label: trans.__('Check Notebook for MLOps Hints'),
      isEnabled: () => current !== null,
      execute: checkNow
    });
    app.commands.addCommand(CommandIDs.convert, {
      label: trans.__('Convert Notebook to Pipeline'),
      isEnabled: () => current !== null,
      execute: () => actions.convert()
    });
    app.commands.addCommand(CommandIDs.editStep, {
      label: trans.__('Set the Pipeline Step of the Cell…'),
      caption: trans.__('Which step the cell runs in, what it runs after, skip, imports, parameters, metrics, gate (tags of docs/tags.md)'),
      isEnabled: () => current?.content.activeCell?.model.type === 'code',
      execute: () => {
        const cell = current?.content.activeCell;
        if (cell && cell.model.type === 'code') {
          void editCellStep(cell);
        }
      }
    });
    app.contextMenu.addItem({
      command: CommandIDs.editStep,
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 30
    });
    app.commands.addCommand(CommandIDs.openPipeline, {
      label: args => (args.pipeline ? trans.__('Open Pipeline %1', args.pipeline as string)
        : trans.__('Open Pipeline View')),
      execute: args => {
        const pipeline = String(args.pipeline ?? panel.state.conversion?.output ?? '');
        if (pipeline) {
          openPipeline(pipeline, true);
        }
      }
    });
    app.commands.addCommand(CommandIDs.openRule, {
      label: args => (args.code ? trans.__('Show Rule %1', args.code as string) : trans.__('Show Rule')),
      execute: async args => {
        try {
          await openRulePage(app, rendermime, String(args.code ?? ''), trans);
        } catch (error) {
          panel.state.fixError = trans.__('Cannot show rule %1: %2', String(args.code), describe(error));
          panel.update();
        }
      }
    });
    if (palette) {
      for (const command of [CommandIDs.open, CommandIDs.check, CommandIDs.convert, CommandIDs.editStep]) {
        palette.addItem({ command, category: 'nb2pipe' });
      }
    }

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const read = () => {
          options.select = (settings.get('select').composite as string[]) ?? [];
          options.ignore = (settings.get('ignore').composite as string[]) ?? [];
          options.debounce = (settings.get('debounce').composite as number) ?? 300;
        };
        read();
        settings.changed.connect(() => {
          read();
          checkNow();
        });
      });
    }
  }
};

/** Start a run of `pipeline` on the server (`nb2pipe run`); why not, when it was refused. */
async function startOnServer(pipeline: string, values: Record<string, string>, tracking: boolean,
                             resume: string | undefined, trans: TranslationBundle): Promise<string | null> {
  try {
    await requestAPI('run', {
      method: 'POST',
      body: JSON.stringify({
        pipeline,
        parameters: resume ? undefined : values,
        tracking: tracking ? 'mlflow' : 'none',
        resume
      })
    });
    return null;
  } catch (error) {
    return trans.__('Not started: %1', describe(error));
  }
}

/** Stop the run of `pipeline` going on the server; why not, when it could not. */
async function stopOnServer(pipeline: string, trans: TranslationBundle): Promise<string | null> {
  try {
    await requestAPI('run/stop', { method: 'POST', body: JSON.stringify({ pipeline }) });
    return null;
  } catch (error) {
    return trans.__('Cannot stop: %1', describe(error));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The current notebook's shared model, as the fix-applying code needs it. */
function editable(panel: NotebookPanel): IEditableNotebook {
  const shared = panel.context.model.sharedModel;
  const find = (id: string) => shared.cells.find(cell => cell.id === id)!;
  return {
    cellIds: () => shared.cells.map(cell => cell.id),
    cellType: id => find(id).cell_type,
    source: id => find(id).getSource(),
    setSource: (id, source) => find(id).setSource(source),
    tags: id => ((find(id).getMetadata('tags') as string[] | undefined) ?? []).slice(),
    setTags: (id, tags) => find(id).setMetadata('tags', tags),
    insertCell: (index, cell) =>
      shared.insertCell(index, {
        cell_type: cell.cell_type as 'code',
        source: cell.source,
        metadata: cell.tags.length ? { tags: cell.tags } : {},
        ...(cell.id ? { id: cell.id } : {})
      }),
    deleteCell: id => shared.deleteCell(shared.cells.findIndex(cell => cell.id === id)),
    transact: change => shared.transact(change)
  };
}

/** The open notebook's JSON with the ids of its cells, whatever its nbformat (see
 * `withCellIds`). */
function notebookJSON(panel: NotebookPanel): INotebookJSON {
  const model = panel.context.model;
  return withCellIds(
    model.toJSON() as unknown as INotebookJSON,
    model.sharedModel.cells.map(cell => cell.id)
  );
}

export default plugin;

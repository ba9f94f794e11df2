import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

const LEVEL0 = 'level0_classifier.ipynb';
const TAGGED = 'classifier_pipeline.ipynb';
const UNTAGGED = 'diabetes_untagged.ipynb';
const SAMPLES = path.resolve(__dirname, '..', '..', '..', 'sample_notebooks');

/**
 * Screenshots go to a scratch folder (test-results/), or to docs/ when asked
 * (`NB2PIPE_UPDATE_DOCS=1`, as `make docs-pictures` does): a test run never changes tracked
 * files.
 */
function screenshotPath(name: string): string {
  return process.env.NB2PIPE_UPDATE_DOCS
    ? path.join(__dirname, '..', '..', '..', 'docs', name)
    : path.join(__dirname, '..', 'test-results', name);
}

/** Pictures for docs/lab.md: NAME.png in the light theme, NAME-dark.png in the dark one. */
async function lightAndDark(page: any, name: string): Promise<void> {
  await page.screenshot({ path: screenshotPath(`${name}.png`) });
  for (const [theme, light] of [['JupyterLab Dark', 'false'], ['JupyterLab Light', 'true']]) {
    await page.evaluate(async (wanted: string) => {
      await (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: wanted });
    }, theme);
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', light);
    await page.locator('#jupyterlab-splash').waitFor({ state: 'detached', timeout: 30000 });
    if (light === 'false') {
      await page.screenshot({ path: screenshotPath(`${name}-dark.png`) });
    }
  }
}

/** Galata gives each test its own folder on the server: put the sample notebook there. */
async function open(page: any, tmpPath: string, name: string): Promise<string> {
  const target = `${tmpPath}/${name}`;
  await page.contents.uploadFile(path.join(SAMPLES, name), target);
  await page.contents.uploadFile(path.join(SAMPLES, 'requirements.txt'),
                                 `${tmpPath}/requirements.txt`);
  await page.notebook.openByPath(target);
  await page.notebook.activate(name);
  return target;
}

/** The sources of the current notebook's cells, from its model (the view renders only the
 * cells on screen). */
async function sources(page: any): Promise<string> {
  return await page.evaluate(() => {
    const model = (window as any).jupyterapp.shell.currentWidget.content.model;
    const texts: string[] = [];
    for (let i = 0; i < model.cells.length; i++) {
      texts.push(model.cells.get(i).sharedModel.getSource());
    }
    return texts.join('\n');
  });
}

/**
 * The left sidebar at `px` pixels (the width the issue names: 250), then nothing in the panel
 * may stick out of it: every element's box within the panel's, nothing scrolling sideways.
 * Returns what sticks out (empty when all fits), for the assertion's message.
 */
async function overflowAt(page: any, panel: any, px: number): Promise<string[]> {
  await page.evaluate((width: number) => {
    const split = (window as any).jupyterapp.shell._hsplitPanel;
    const total = split.node.clientWidth;
    const sizes = split.relativeSizes();
    const right = sizes.length > 2 ? sizes[2] : 0;
    split.setRelativeSizes([width / total, 1 - width / total - right, right]);
  }, px);
  await expect.poll(async () =>
    Math.round((await panel.boundingBox())?.width ?? 0)).toBeLessThanOrEqual(px);
  return await panel.evaluate((root: HTMLElement) => {
    const outer = root.getBoundingClientRect();
    const found: string[] = [];
    if (root.scrollWidth > root.clientWidth + 1) {
      found.push(`the panel scrolls sideways (${root.scrollWidth} > ${root.clientWidth})`);
    }
    root.querySelectorAll('*').forEach((node: Element) => {
      const box = node.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) {
        return;
      }
      if (box.right > outer.right + 1 || box.left < outer.left - 1) {
        const name = `${node.tagName.toLowerCase()}.${(node.className || '').toString()
          .split(' ').join('.')}`;
        found.push(`${name} "${(node.textContent || '').trim().slice(0, 40)}" ` +
                   `[${Math.round(box.left)}, ${Math.round(box.right)}] outside ` +
                   `[${Math.round(outer.left)}, ${Math.round(outer.right)}]`);
      }
    });
    return found.slice(0, 10);
  });
}

async function openHints(page: any): Promise<any> {
  await page.evaluate(async () => {
    await (window as any).jupyterapp.commands.execute('nb2pipe:open-hints');
  });
  const panel = page.locator('#nb2pipe-hints');
  await expect(panel).toBeVisible();
  return panel;
}

test.describe('MLOps hints panel', () => {
  test('shows the level-0 findings, selects their cells, applies a fix', async ({
    page,
    tmpPath
  }) => {
    await open(page, tmpPath, LEVEL0);
    const panel = await openHints(page);

    // The checklist and the findings of the level-0 sample (the first check of a server
    // starts its worker processes: it may take longer than the others).
    await expect(panel.locator('.nb2pipe-checklist')).toContainText('MLOps level 0', {
      timeout: 20000
    });
    for (const code of ['NB101', 'NB105', 'NB106', 'NB202', 'NB203', 'NB501']) {
      await expect(panel.locator(`.nb2pipe-finding[data-code="${code}"]`).first()).toBeVisible();
    }
    // Cells with findings carry a marker.
    await expect(page.locator('.jp-Cell.nb2pipe-flagged').first()).toBeVisible();
    // At 250 px, the checklist and every finding fit the sidebar.
    expect(await overflowAt(page, panel, 250)).toEqual([]);

    // The screenshot in the README: the panel on the level-0 sample.
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.sidebar.close('left');
    await page.screenshot({ path: screenshotPath('panel.png'), fullPage: false });

    // Clicking a finding selects its cell.
    await panel
      .locator('.nb2pipe-finding[data-code="NB106"] .nb2pipe-finding-text')
      .first()
      .click();
    await expect(page.locator('.jp-Notebook .jp-Cell.jp-mod-active')).toContainText('print(f1)');

    // The header is a toolbar, as Table of Contents has: a small title, the count, refresh.
    await expect(panel.locator('.nb2pipe-toolbar .nb2pipe-title')).toHaveText(/MLOps hints/i);
    const count = Number(await panel.locator('.nb2pipe-count').textContent());
    await expect(panel.locator('.nb2pipe-finding')).toHaveCount(count);
    await expect(panel.locator('.nb2pipe-finding[data-code="NB203"] .nb2pipe-severity svg').first())
      .toBeVisible();
    // nothing scrolls sideways
    expect(await panel.evaluate((node: HTMLElement) => node.scrollWidth <= node.clientWidth)).toBe(true);

    // "Fix" fixes the finding clicked, and only it: the cell changes, one finding goes.
    const nb203 = panel.locator('.nb2pipe-finding[data-code="NB203"]');
    await expect(nb203).toHaveCount(2);
    await expect(nb203.first().locator('.nb2pipe-fix-all-button')).toHaveText('Fix all NB203 (2)');
    await nb203.first().locator('.nb2pipe-fix-button').click();
    await expect.poll(() => sources(page)).toContain('random_state=SEED');
    await expect(nb203).toHaveCount(1);
    await expect(nb203.first()).toContainText('RandomForestClassifier');

    // The fix went through the notebook model: the user can undo it, as the tooltip says:
    // Esc, then Z (command mode's undo).
    await page.notebook.selectCells(0);
    await page.keyboard.press('Escape');
    await page.keyboard.press('z');
    await expect.poll(() => sources(page)).not.toContain('random_state=SEED');
    await expect(nb203).toHaveCount(2);
    // (Shift+Z redoes it; Esc, Z undoes it again)
    await page.keyboard.press('Shift+z');
    await expect.poll(() => sources(page)).toContain('random_state=SEED');
    await page.keyboard.press('z');
    await expect.poll(() => sources(page)).not.toContain('random_state=SEED');

    // "Fix all NB203" fixes every finding of the rule.
    await nb203.first().locator('.nb2pipe-fix-all-button').click();
    await expect(nb203).toHaveCount(0);
  });

  test('a fix that imports a package says where it declared it', async ({ page, tmpPath }) => {
    await open(page, tmpPath, LEVEL0);
    const panel = await openHints(page);
    const nb301 = panel.locator('.nb2pipe-finding[data-code="NB301"]');
    await expect(nb301).toHaveCount(1, { timeout: 20000 });
    await nb301.locator('.nb2pipe-fix-button').click();
    await expect(nb301).toHaveCount(0);
    await expect.poll(() => sources(page)).toContain('mlflow.autolog()');
    const note = panel.locator('.nb2pipe-fix-note');
    await expect(note).toContainText('requirements.txt');
    await expect(note).toContainText('mlflow==');
    const reply = await page.request.get(`/api/contents/${tmpPath}/requirements.txt?content=1&type=file&format=text`);
    expect((await reply.json()).content).toMatch(/^mlflow==[0-9.]+$/m);
    await note.locator('a').click();
    await expect(page.locator('.lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel')).toHaveText('requirements.txt');
  });

  test('tags the steps of an untagged notebook, then converts it', async ({ page, tmpPath }) => {
    await open(page, tmpPath, UNTAGGED);
    const panel = await openHints(page);
    await expect(panel.locator('.nb2pipe-finding[data-code="NB406"]')).toHaveCount(1);
    await panel.locator('.nb2pipe-tag-button').click();
    await expect(panel.locator('.nb2pipe-finding[data-code="NB406"]')).toHaveCount(0);
    await expect(panel.locator('.nb2pipe-tag-button')).toHaveCount(0);
    // the tags are in the notebook model, where the property inspector shows them
    const tags = await page.evaluate(() => {
      const widget = (window as any).jupyterapp.shell.currentWidget;
      return widget.content.model.cells.get(4).getMetadata('tags');
    });
    expect(tags).toEqual(['step:load_data']);
    await panel.locator('.nb2pipe-convert-button').click();
    await expect(panel.locator('.nb2pipe-dag .nb2pipe-node')).toHaveCount(5);
  });

  test('converts a tagged notebook and shows the files and the command', async ({
    page,
    tmpPath
  }) => {
    await open(page, tmpPath, TAGGED);
    const panel = await openHints(page);
    await expect(panel.locator('.nb2pipe-status')).toContainText('0 findings');
    await panel.locator('.nb2pipe-convert-button').click();
    await expect(panel.locator('.nb2pipe-command')).toHaveText(
      `nb2pipe run ${tmpPath}/classifier_pipeline-pipeline`
    );
    await expect(panel.locator('.nb2pipe-dag')).toBeVisible();
    await expect(panel.locator('.nb2pipe-dag .nb2pipe-node')).toHaveCount(5);
    await panel.locator('.nb2pipe-conversion summary').click();
    await expect(panel.locator('.nb2pipe-files')).toContainText('kfp/pipeline.yaml');
    // the files open in JupyterLab
    await panel.locator('.nb2pipe-file', { hasText: 'requirements.txt' }).click();
    await expect(page.locator('.lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel')).toHaveText(
      'requirements.txt'
    );
    // the command has a copy button
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await panel.locator('.nb2pipe-copy').click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(`nb2pipe run ${tmpPath}/classifier_pipeline-pipeline`);
  });

  test('re-checks as the user types (latency from the last keystroke)', async ({
    page,
    tmpPath
  }) => {
    await open(page, tmpPath, TAGGED);
    const panel = await openHints(page);
    await expect(panel.locator('.nb2pipe-status')).toContainText('0 findings');
    await page.notebook.enterCellEditingMode(5);
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\nprint(undefined_thing)', { delay: 20 });
    const typed = Date.now();
    await expect(panel.locator('.nb2pipe-finding[data-code="NB106"]')).toContainText(
      'undefined_thing',
      { timeout: 10000 }
    );
    const latency = Date.now() - typed;
    console.log(`nb2pipe: edit → updated hints in ${latency} ms`);
    test.info().annotations.push({ type: 'latency-ms', description: String(latency) });
  });
});

test('a rule code opens the rule page in a tab; Ctrl-click opens the web page', async ({
  page,
  tmpPath
}) => {
  await open(page, tmpPath, LEVEL0);
  const panel = await openHints(page);
  const code = panel.locator('.nb2pipe-finding[data-code="NB203"] .nb2pipe-code').first();
  await code.click();
  // rendered from the installed package by the server extension: no network needed
  const tab = page.locator('#nb2pipe-rule-NB203');
  await expect(tab).toBeVisible();
  await expect(tab.locator('.nb2pipe-rule-page h1')).toContainText('NB203');
  const tabTitle = page.locator('li.lm-TabBar-tab[data-id="nb2pipe-rule-NB203"]');
  await expect(tabTitle).toContainText('NB203');
  await expect(tabTitle).toHaveClass(/lm-mod-current/);
  // a second click brings the same tab forward, it does not open another
  await page.notebook.activate(LEVEL0);
  await code.click();
  await expect(page.locator('[id="nb2pipe-rule-NB203"]')).toHaveCount(1);
  await expect(tab).toBeVisible();
  // Ctrl/Cmd-click: the web page, in a new browser tab (this machine is offline: the tab
  // opens on the link's address and fails to load it)
  await expect(code).toHaveAttribute('href', /^https?:\/\/.+\/rules\/NB203\/$/);
  const popup = page.context().waitForEvent('page');
  await code.click({ modifiers: ['ControlOrMeta'] });
  await popup;
  await expect(page.locator('[id="nb2pipe-rule-NB203"]')).toHaveCount(1);
});

test('says so plainly when the server extension fails, and recovers', async ({ page, tmpPath }) => {
  let failing = true;
  await page.route(/\/nb2pipe\/check/, async route => {
    if (failing) {
      await route.fulfill({ status: 404, body: '' });
    } else {
      await route.continue();
    }
  });
  failing = false;
  await open(page, tmpPath, LEVEL0);
  const panel = await openHints(page);
  await expect(panel.locator('.nb2pipe-finding').first()).toBeVisible({ timeout: 20000 });
  failing = true;
  await panel.locator('.nb2pipe-refresh').click();
  await expect(panel.locator('.nb2pipe-status')).toContainText(
    'the nb2pipe server extension is not installed or not enabled'
  );
  // the findings of the last good check are not left on screen as if current
  await expect(panel.locator('.nb2pipe-finding')).toHaveCount(0);
  await expect(panel.locator('.nb2pipe-checklist')).toHaveCount(0);
  failing = false;
  await panel.locator('.nb2pipe-refresh').click();
  await expect(panel.locator('.nb2pipe-finding').first()).toBeVisible();
});

/** A notebook of two steps whose behaviour the test steers with flag files beside it:
 * `slow.flag` makes the first step wait, `broken.flag` makes the second fail. */
function steeredNotebook(): string {
  const cell = (tags: string[], source: string) => ({
    cell_type: 'code',
    execution_count: null,
    metadata: { tags },
    outputs: [],
    source
  });
  return JSON.stringify({
    cells: [
      cell(['imports'], 'import os\nimport time'),
      cell(['pipeline-parameters'], 'N = 3'),
      cell(['step:make'], 'while os.path.exists("slow.flag"):\n    time.sleep(0.2)\nvalues = list(range(N))'),
      cell(['step:check'], 'assert not os.path.exists("broken.flag"), "broken.flag is there"\ntotal = sum(values)'),
      cell(['pipeline-metrics'], 'total')
    ],
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

test('runs the converted pipeline from the panel: run, failure, resume, stop', async ({
  page,
  tmpPath
}) => {
  await page.contents.uploadContent(steeredNotebook(), 'text', `${tmpPath}/steered.ipynb`);
  await page.notebook.openByPath(`${tmpPath}/steered.ipynb`);
  await page.notebook.activate('steered.ipynb');
  const panel = await openHints(page);
  await panel.locator('.nb2pipe-convert-button').click();
  const form = panel.locator('.nb2pipe-run-form');
  await expect(form.locator('input[name="N"]')).toHaveValue('3', { timeout: 60000 });

  // Run, with a parameter typed in the form: the steps turn green on the DAG
  await form.locator('input[name="N"]').fill('5');
  await form.locator('.nb2pipe-tracking input').uncheck();
  const started = Date.now();
  await form.locator('.nb2pipe-run-button').click();
  await expect(panel.locator('.nb2pipe-step[data-step="make"]')).toBeVisible({ timeout: 10000 });
  const startMs = Date.now() - started;
  console.log(`nb2pipe: Run button → the run's first step on screen in ${startMs} ms`);
  test.info().annotations.push({ type: 'run-start-ms', description: String(startMs) });
  await expect(panel.locator('.nb2pipe-run-steps')).toHaveAttribute('data-status', 'succeeded', {
    timeout: 60000
  });
  await expect(panel.locator('.nb2pipe-dag .nb2pipe-node-succeeded')).toHaveCount(3);
  await expect(panel.locator('.nb2pipe-runs-table tbody tr')).toHaveCount(1);
  await expect(panel.locator('.nb2pipe-runs-table tbody tr').first()).toContainText('N=5');
  await expect(panel.locator('.nb2pipe-runs-table tbody tr').first()).toContainText('10');
  // At 250 px the DAG, the form, the run's steps and the runs table fit the sidebar.
  expect(await overflowAt(page, panel, 250)).toEqual([]);

  // A failing step: its place, and its executed notebook opened at the failing cell
  await page.contents.uploadContent('', 'text', `${tmpPath}/broken.flag`);
  await form.locator('.nb2pipe-run-button').click();
  await expect(panel.locator('.nb2pipe-run-steps')).toHaveAttribute('data-status', 'failed', {
    timeout: 60000
  });
  const failed = panel.locator('.nb2pipe-step[data-step="check"]');
  await expect(failed).toContainText('cell 4, line 1: AssertionError: broken.flag is there');
  await failed.locator('.nb2pipe-open-step').click();
  await expect(page.locator('.lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel')).toHaveText(
    'check.ipynb'
  );
  await expect(page.locator('.jp-NotebookPanel:visible .jp-Cell.jp-mod-active')).toContainText(
    'broken.flag'
  );
  // a notebook nb2pipe generated says so, and offers no Convert
  await expect(panel.locator('.nb2pipe-generated')).toContainText('Generated by nb2pipe: step `check`');
  await expect(panel.locator('.nb2pipe-convert-button')).toHaveCount(0);
  await page.notebook.activate('steered.ipynb');

  // Resume, once the cause is gone: the failed step runs again and the run succeeds
  await page.contents.deleteFile(`${tmpPath}/broken.flag`);
  await panel.locator('.nb2pipe-resume-button').click();
  await expect(panel.locator('.nb2pipe-run-steps')).toHaveAttribute('data-status', 'succeeded', {
    timeout: 60000
  });
  await expect(panel.locator('.nb2pipe-runs-table tbody tr')).toHaveCount(2);

  // Stop: the running step is interrupted, as Ctrl-C would; Resume is offered
  await page.contents.uploadContent('', 'text', `${tmpPath}/slow.flag`);
  await form.locator('.nb2pipe-run-button').click();
  await expect(panel.locator('.nb2pipe-step[data-step="make"]')).toHaveClass(/nb2pipe-step-running/, {
    timeout: 60000
  });
  // the step's state says which cell runs: the loop waiting for slow.flag, cell 3
  await expect(panel.locator('.nb2pipe-step[data-step="make"]')).toContainText('running cell 3');
  await panel.locator('.nb2pipe-stop-button').click();
  await expect(panel.locator('.nb2pipe-run-steps')).toHaveAttribute('data-status', 'interrupted', {
    timeout: 30000
  });
  // interrupted is not failed
  await expect(panel.locator('.nb2pipe-step[data-step="make"]')).toHaveClass(/nb2pipe-step-interrupted/);
  // the process ends (after SIGINT, or the SIGTERM/SIGKILL that follow it): Resume is offered.
  // Wait on that state, not on a fixed time: a busy machine shuts a kernel down slowly.
  await expect(panel.locator('.nb2pipe-resume-button')).toBeVisible({ timeout: 40000 });
  await expect(panel.locator('.nb2pipe-stop-button')).toHaveCount(0);
  await expect(panel.locator('.nb2pipe-stopped')).toContainText('after SIGINT');
  await page.contents.deleteFile(`${tmpPath}/slow.flag`);

  // A reload finds the pipeline and its runs again
  await page.evaluate(() => window.location.reload());
  await page.waitForFunction(() => (window as any).jupyterapp?.commands?.hasCommand('nb2pipe:open-hints'), null, {
    timeout: 60000
  });
  await page.locator('.jp-NotebookPanel:visible').first().waitFor({ timeout: 60000 });
  const again = await openHints(page);
  await expect(again.locator('.nb2pipe-runs-table tbody tr')).toHaveCount(3, { timeout: 20000 });
  // …and the files the conversion wrote
  await again.locator('.nb2pipe-conversion summary').click();
  await expect(again.locator('.nb2pipe-files')).toContainText('kfp/pipeline.yaml');

  // docs/lab.md's pictures of the run and the runs, light and dark
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.sidebar.close('left');
  await again.locator('.nb2pipe-run').scrollIntoViewIfNeeded();
  await lightAndDark(page, 'lab-run');
});

/**
 * Notebooks as they are found on GitHub: nbformat 4.0 to 4.4 have no cell ids (JupyterLab's
 * toJSON() leaves them out), 4.5 has them, and a v3 notebook is upgraded by JupyterLab when
 * opened. Each gets the same cells: outputs, a raw cell, an attachment where the format has
 * them, and an import below code (NB209) that Fix moves to the top.
 */
function formatFixture(minor: number | 'v3'): string {
  const out = (text: string) => [{ output_type: 'stream', name: 'stdout', text: [text] }];
  if (minor === 'v3') {
    return JSON.stringify({
      metadata: { name: 'old', kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      nbformat: 3,
      nbformat_minor: 0,
      worksheets: [{
        cells: [
          { cell_type: 'markdown', metadata: {}, source: ['# An old notebook'] },
          { cell_type: 'code', collapsed: false, input: ['import os\n', 'print(os.sep)'], language: 'python',
            metadata: {}, outputs: [{ output_type: 'stream', stream: 'stdout', text: ['/\n'] }], prompt_number: 1 },
          { cell_type: 'raw', metadata: {}, source: ['raw text'] },
          { cell_type: 'code', collapsed: false, input: ['x = 1\n', 'import json\n', 'print(json.dumps(x))'],
            language: 'python', metadata: {}, outputs: [{ output_type: 'stream', stream: 'stdout', text: ['1\n'] }],
            prompt_number: 2 },
          { cell_type: 'code', collapsed: false, input: ['print(x)'], language: 'python', metadata: {},
            outputs: [{ output_type: 'stream', stream: 'stdout', text: ['1\n'] }], prompt_number: 3 }
        ],
        metadata: {}
      }]
    });
  }
  const id = (k: number) => (minor >= 5 ? { id: `cell-${k}` } : {});
  const markdown: any = { cell_type: 'markdown', metadata: {}, source: ['# An old notebook ![dot](attachment:dot.png)'], ...id(0) };
  if (minor >= 1) {
    markdown.attachments = { 'dot.png': { 'image/png': 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==' } };
  }
  return JSON.stringify({
    cells: [
      markdown,
      { cell_type: 'code', execution_count: 1, metadata: {}, outputs: out('/\n'), source: ['import os\n', 'print(os.sep)'], ...id(1) },
      { cell_type: 'raw', metadata: {}, source: ['raw text'], ...id(2) },
      { cell_type: 'code', execution_count: 2, metadata: {}, outputs: out('1\n'),
        source: ['x = 1\n', 'import json\n', 'print(json.dumps(x))'], ...id(3) },
      { cell_type: 'code', execution_count: 3, metadata: {}, outputs: out('1\n'), source: ['print(x)'], ...id(4) }
    ],
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    nbformat: 4,
    nbformat_minor: minor
  });
}

test('a fix and the step form never corrupt a notebook, whatever its nbformat (4.0-4.5, v3)', async ({
  page,
  tmpPath
}) => {
  for (const minor of [0, 1, 2, 4, 5, 'v3'] as const) {
    const name = `format-${minor}.ipynb`;
    await page.contents.uploadContent(formatFixture(minor), 'text', `${tmpPath}/${name}`);
    await page.notebook.openByPath(`${tmpPath}/${name}`);
    if (minor === 'v3') {
      // JupyterLab says it converted the notebook to v4 (saved as v4 from then on)
      await page.locator('.jp-Dialog .jp-mod-accept').click();
    }
    await page.notebook.activate(name);
    const panel = await openHints(page);
    const nb209 = panel.locator('.nb2pipe-finding[data-code="NB209"]');
    await expect(nb209).toHaveCount(1, { timeout: 30000 });
    // the cells with findings are marked, ids or not
    await expect(page.locator('.jp-NotebookPanel:visible .jp-Cell.nb2pipe-flagged').first()).toBeVisible();
    await nb209.first().locator('.nb2pipe-fix-button').click();
    await expect(nb209).toHaveCount(0);
    // the step form's tags, written through the same model, whatever the format
    await page.notebook.selectCells(3);
    await page.evaluate(async () => {
      await (window as any).jupyterapp.commands.execute('nb2pipe:edit-step');
    });
    await page.locator('.jp-Dialog .nb2pipe-step-role').selectOption('step');
    await page.locator('.jp-Dialog .nb2pipe-step-name').fill('compute');
    await page.locator('.jp-Dialog .jp-mod-accept').click();
    await expect(page.locator('.jp-NotebookPanel:visible .nb2pipe-step-chip')).toHaveCount(3);
    await page.notebook.save();
    const reply = await page.request.get(`/api/contents/${tmpPath}/${name}?content=1&type=file&format=text`);
    const saved = JSON.parse((await reply.json()).content);
    const cells = saved.cells as any[];
    const text = (cell: any) => (Array.isArray(cell.source) ? cell.source.join('') : cell.source);
    expect([String(minor), cells.length]).toEqual([String(minor), 5]);
    expect(cells.map(c => c.cell_type)).toEqual(['markdown', 'code', 'raw', 'code', 'code']);
    expect(text(cells[1])).toContain('import json');
    expect(text(cells[3])).not.toContain('import json');
    expect(text(cells[3])).toContain('print(json.dumps(x))');
    expect(cells.map(c => (c.outputs ?? []).length)).toEqual([0, 1, 0, 1, 1]);
    expect(text(cells[2])).toBe('raw text');
    expect(cells.map(c => c.metadata?.tags ?? [])).toEqual([[], [], [], ['step:compute'], []]);
    if (minor !== 'v3' && minor >= 1) {
      expect(Object.keys(cells[0].attachments ?? {})).toEqual(['dot.png']);
    }
    await page.notebook.close(true);
  }
});

test('the pipeline view: the DAG to click, run from it, sort, compare and plot the runs', async ({
  page,
  tmpPath
}) => {
  await open(page, tmpPath, TAGGED);
  const panel = await openHints(page);
  await panel.locator('.nb2pipe-convert-button').click();
  await panel.locator('.nb2pipe-open-view').click();
  const view = page.locator('.nb2pipe-pipeline-view');
  await expect(view).toBeVisible();
  await expect(view.locator('.nb2pipe-view-title')).toHaveText(`${tmpPath}/classifier_pipeline-pipeline`);
  // every step, and every edge drawn (split → evaluate passes a level: a curve, not hidden)
  await expect(view.locator('.nb2pipe-dag .nb2pipe-node')).toHaveCount(5);
  await expect(view.locator('.nb2pipe-dag .nb2pipe-edge')).toHaveCount(5);
  // each step in the colour of its cells' chips in the notebook
  for (const [index, step] of [[5, 'load_data'], [9, 'train'], [12, 'metrics']] as const) {
    const chip = page.locator('.jp-NotebookPanel .jp-Cell').nth(index).locator('.nb2pipe-step-chip');
    await expect(view.locator(`.nb2pipe-node[data-step="${step}"]`))
      .toHaveAttribute('data-colour', (await chip.getAttribute('data-colour')) ?? 'none');
  }
  // a node is a button: its details
  await view.locator('.nb2pipe-node[data-step="train"]').click();
  await expect(view.locator('.nb2pipe-step-details[data-step="train"]')).toContainText('Not run yet.');

  // run from the view, untracked, with another value: the nodes turn green
  const form = view.locator('.nb2pipe-run-form');
  await form.locator('input[name="N_ESTIMATORS"]').fill('20');
  await form.locator('.nb2pipe-tracking input').uncheck();
  await form.locator('.nb2pipe-run-button').click();
  await expect(view.locator('.nb2pipe-run-steps')).toHaveAttribute('data-status', 'succeeded', {
    timeout: 90000
  });
  await expect(view.locator('.nb2pipe-dag .nb2pipe-node-succeeded')).toHaveCount(5);
  await expect(view.locator('.nb2pipe-step-details-status')).toHaveAttribute('data-status', 'succeeded');
  await expect(view.locator('.nb2pipe-open-step-notebook')).toBeVisible();

  // a second run with another value (the steps before `train` come from the step cache)
  await form.locator('input[name="N_ESTIMATORS"]').fill('40');
  await form.locator('.nb2pipe-run-button').click();
  const rows = view.locator('.nb2pipe-view-runs-table tbody tr');
  await expect(rows).toHaveCount(2, { timeout: 90000 });
  await expect(view.locator('.nb2pipe-run-steps')).toHaveAttribute('data-status', 'succeeded', {
    timeout: 90000
  });
  await expect(view.locator('.nb2pipe-step-details-status')).toContainText('succeeded');
  // a third run with the first value: every step before `train` comes from the step cache
  await form.locator('input[name="N_ESTIMATORS"]').fill('20');
  await form.locator('.nb2pipe-run-button').click();
  await expect(rows).toHaveCount(3, { timeout: 90000 });
  await expect(view.locator('.nb2pipe-run-steps')).toHaveAttribute('data-status', 'succeeded', {
    timeout: 90000
  });
  await expect(view.locator('.nb2pipe-step[data-step="split"]')).toContainText('reused from run');
  // sort by the swept parameter, both ways
  const header = view.locator('th[data-column="p:N_ESTIMATORS"]');
  await header.click();
  await expect(rows.first().locator('td[data-column="p:N_ESTIMATORS"]')).toHaveText('20');
  await header.click();
  await expect(rows.first().locator('td[data-column="p:N_ESTIMATORS"]')).toHaveText('40');
  // compare the two: the parameter that differs is marked
  await rows.nth(0).locator('.nb2pipe-compare-pick').check();
  await rows.nth(1).locator('.nb2pipe-compare-pick').check();
  await expect(view.locator('.nb2pipe-compare tr[data-row="N_ESTIMATORS"]')).toHaveClass(/nb2pipe-differs/);
  await expect(view.locator('.nb2pipe-compare tr[data-row="MAX_DEPTH"]')).not.toHaveClass(/nb2pipe-differs/);
  // a metric against the swept parameter, one dot a run
  await expect(view.locator('.nb2pipe-metric-plot circle')).toHaveCount(3);

  // docs/lab.md's pictures of the view, light and dark
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.sidebar.close('left');
  await page.sidebar.close('right');
  await expect(form.locator('.nb2pipe-run-button')).toHaveText('Run', { timeout: 60000 });
  await view.locator('.nb2pipe-node[data-step="evaluate"]').click();
  await view.locator('.nb2pipe-view-title').scrollIntoViewIfNeeded();
  await lightAndDark(page, 'lab-pipeline-view');
});

/** A notebook of 20 steps: one source, nine branches from it, nine steps that each join a
 * branch with the source (edges that pass a level), and one step that gathers them all. */
function twentyStepNotebook(): string {
  const cell = (tags: string[], source: string) => ({
    cell_type: 'code', execution_count: null, metadata: { tags }, outputs: [], source
  });
  const cells = [cell(['pipeline-parameters'], 'N = 1'), cell(['step:s00'], 'a = N')];
  for (let k = 1; k <= 9; k++) {
    cells.push(cell([`step:s0${k}`], `b${k} = a + ${k}`));
  }
  for (let k = 1; k <= 9; k++) {
    cells.push(cell([`step:s1${k - 1}`], `c${k} = b${k} * 2 + a`));
  }
  const all = Array.from({ length: 9 }, (_, k) => `c${k + 1}`).join(', ');
  cells.push(cell(['step:s19'], `total = sum([${all}])`));
  cells.push(cell(['pipeline-metrics'], 'total'));
  return JSON.stringify({
    cells,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

test('the pipeline view of 20 steps: every step and edge drawn, no box over another', async ({
  page,
  tmpPath
}) => {
  await page.contents.uploadContent(twentyStepNotebook(), 'text', `${tmpPath}/twenty.ipynb`);
  await page.notebook.openByPath(`${tmpPath}/twenty.ipynb`);
  await page.notebook.activate('twenty.ipynb');
  const panel = await openHints(page);
  await panel.locator('.nb2pipe-convert-button').click();
  const link = panel.locator('.nb2pipe-open-view');
  await expect(link).toBeVisible({ timeout: 60000 });
  // (Convert opens the view behind the notebook: close it, then time an opening)
  const view = page.locator('.nb2pipe-pipeline-view');
  await expect(view).toHaveCount(1, { timeout: 30000 });
  await page.evaluate(() => {
    for (const widget of Array.from((window as any).jupyterapp.shell.widgets('main'))) {
      if ((widget as any).node.classList.contains('nb2pipe-pipeline-view')) {
        (widget as any).close();
      }
    }
  });
  await expect(view).toHaveCount(0);
  const started = Date.now();
  await link.click();
  // the 20 steps, and the metrics step the `pipeline-metrics` cell makes
  await expect(view.locator('.nb2pipe-dag .nb2pipe-node')).toHaveCount(21);
  const openMs = Date.now() - started;
  console.log(`nb2pipe: the pipeline view of 20 steps drawn in ${openMs} ms`);
  test.info().annotations.push({ type: 'view-20-steps-ms', description: String(openMs) });
  // 9 from the source, 2 into each joining step, 9 into the last one, 1 into the metrics
  await expect(view.locator('.nb2pipe-dag .nb2pipe-edge')).toHaveCount(37);
  const boxes = await view.locator('.nb2pipe-dag .nb2pipe-node').evaluateAll(
    (nodes: Element[]) => nodes.map(node => {
      const box = node.getBoundingClientRect();
      return { step: node.getAttribute('data-step'), left: box.left, right: box.right,
               top: box.top, bottom: box.bottom };
    }));
  const overlaps: string[] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 &&
          b.top < a.bottom - 1) {
        overlaps.push(`${a.step} over ${b.step}`);
      }
    }
  }
  expect(overlaps).toEqual([]);
});

/** The tags of the current notebook's cell `index`, from its model. */
async function tagsOf(page: any, index: number): Promise<string[]> {
  return await page.evaluate((i: number) => {
    const model = (window as any).jupyterapp.shell.currentWidget.content.model;
    return model.cells.get(i).getMetadata('tags') ?? [];
  }, index);
}

/** Click the step chip of cell `index`, choose in its form, press Set. */
async function setStep(page: any, index: number, choice: { role?: string; step?: string;
                       after?: string[]; gate?: string }): Promise<void> {
  await page.locator('.jp-NotebookPanel:visible .jp-Cell').nth(index).locator('.nb2pipe-step-chip').click();
  const form = page.locator('.jp-Dialog .nb2pipe-step-form');
  await expect(form).toBeVisible();
  if (choice.role) {
    await form.locator('.nb2pipe-step-role').selectOption(choice.role);
  }
  if (choice.step !== undefined) {
    await form.locator('.nb2pipe-step-name').fill(choice.step);
  }
  for (const step of choice.after ?? []) {
    await form.locator(`.nb2pipe-step-after input[value="${step}"]`).check();
  }
  if (choice.gate !== undefined) {
    await form.locator('.nb2pipe-step-gate').fill(choice.gate);
  }
  await page.locator('.jp-Dialog .jp-mod-accept').click();
  await expect(form).toHaveCount(0);
}

test('steps in the cells: a chip per cell in its node\'s colour, edited in a form, undoable, the DAG live', async ({
  page,
  tmpPath
}) => {
  await open(page, tmpPath, TAGGED);
  const panel = await openHints(page);
  const cells = page.locator('.jp-NotebookPanel:visible .jp-Cell');
  const chip = (index: number) => cells.nth(index).locator('.nb2pipe-step-chip');
  const nodes = panel.locator('.nb2pipe-outline .nb2pipe-dag .nb2pipe-node');

  // every code cell has a chip; markdown cells none
  await expect(chip(9)).toHaveText('train', { timeout: 20000 });
  await expect(page.locator('.jp-NotebookPanel:visible .nb2pipe-step-chip')).toHaveCount(8);
  await expect(chip(0)).toHaveCount(0);
  await expect(chip(1)).toHaveText('imports');
  await expect(chip(12)).toHaveText('metrics');
  // the live DAG of the steps as tagged, before any conversion
  await expect(nodes).toHaveCount(5);
  // a chip has the colour of its step's node
  for (const [index, step] of [[5, 'load_data'], [9, 'train'], [12, 'metrics']] as const) {
    const chipColour = await chip(index).evaluate((node: HTMLElement) => getComputedStyle(node).borderLeftColor);
    const nodeColour = await panel.locator(`.nb2pipe-node[data-step="${step}"] .nb2pipe-node-colour`)
      .evaluate((node: Element) => getComputedStyle(node).fill);
    expect([step, chipColour]).toEqual([step, nodeColour]);
  }
  const colours = await page.locator('.jp-NotebookPanel:visible .nb2pipe-step-chip[data-role="step"]')
    .evaluateAll((chips: HTMLElement[]) => chips.map(c => getComputedStyle(c).borderLeftColor));
  expect(new Set(colours).size).toBe(4); // four steps, four colours

  // clicking a node selects its step's first cell
  await panel.locator('.nb2pipe-node[data-step="split"]').click();
  await expect(page.locator('.jp-NotebookPanel:visible .jp-Cell.jp-mod-active')).toContainText('X_train, X_test');

  // rename a step: the tags of docs/tags.md are written, the chip and the DAG follow
  await setStep(page, 11, { step: 'score' });
  expect(await tagsOf(page, 11)).toEqual(['step:score', 'prev:train']);
  await expect(chip(11)).toHaveText('score');
  await expect(panel.locator('.nb2pipe-node[data-step="score"]')).toBeVisible();
  await expect(panel.locator('.nb2pipe-node[data-step="evaluate"]')).toHaveCount(0);

  // the notebook's undo takes it back (Esc, then Z), and the DAG with it
  await page.keyboard.press('Escape');
  await page.keyboard.press('z');
  await expect.poll(() => tagsOf(page, 11)).toEqual(['step:evaluate', 'prev:train']);
  await expect(panel.locator('.nb2pipe-node[data-step="evaluate"]')).toBeVisible();
  await expect(chip(11)).toHaveText('evaluate');

  // skip a step the others need: the DAG loses it and says why it cannot convert
  await setStep(page, 9, { role: 'skip' });
  expect(await tagsOf(page, 9)).toEqual(['skip']);
  await expect(chip(9)).toHaveText('skip');
  await expect(panel.locator('.nb2pipe-outline')).toHaveAttribute('data-complete', 'false');
  await expect(panel.locator('.nb2pipe-node[data-step="train"]')).toHaveCount(0);
  await expect(panel.locator('.nb2pipe-finding[data-code="NB401"]').first()).toBeVisible();
  await page.keyboard.press('Escape');
  await page.keyboard.press('z');
  await expect.poll(() => tagsOf(page, 9)).toEqual(['step:train', 'prev:split']);
  await expect(panel.locator('.nb2pipe-outline')).toHaveAttribute('data-complete', 'true');

  // a new step, running after an earlier one (an ordering edge), and a gate on the metrics
  await setStep(page, 3, { role: 'step', step: 'report' });
  await expect(panel.locator('.nb2pipe-node[data-step="report"]')).toBeVisible();
  await expect(chip(3)).toHaveText('report');
  await setStep(page, 12, { gate: 'accuracy>=0.5' });
  expect(await tagsOf(page, 12)).toEqual(['pipeline-metrics', 'gate:accuracy>=0.5']);
  await setStep(page, 3, { role: 'functions' });
  expect(await tagsOf(page, 3)).toEqual(['functions']);
  await setStep(page, 11, { after: ['load_data'] });
  expect(await tagsOf(page, 11)).toEqual(['step:evaluate', 'prev:train', 'prev:load_data']);
  await expect(panel.locator('.nb2pipe-edge[data-edge="load_data->evaluate"]')).toHaveCount(1);

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.notebook.selectCells(9);
  await lightAndDark(page, 'lab-steps');
  expect(await overflowAt(page, panel, 250)).toEqual([]);

  // a name that cannot name a step is refused with the reason, nothing written
  await setStep(page, 7, { step: 'Bad Name' });
  await expect(panel.locator('.nb2pipe-error')).toContainText('lower case letters');
  expect(await tagsOf(page, 7)).toEqual(['step:split', 'prev:load_data']);
  // the next edit that goes through clears the message
  await setStep(page, 7, { step: 'split' });
  await expect(panel.locator('.nb2pipe-error')).toHaveCount(0);

  // saved: the same cells, the new tags
  await page.notebook.save();
  const reply = await page.request.get(`/api/contents/${tmpPath}/${TAGGED}?content=1&type=file&format=text`);
  const saved = JSON.parse((await reply.json()).content);
  expect(saved.cells.length).toBe(13);
  expect(saved.cells[12].metadata.tags).toEqual(['pipeline-metrics', 'gate:accuracy>=0.5']);

});

test('the first step of an untagged notebook without cell ids, from the cell\'s menu', async ({
  page,
  tmpPath
}) => {
  const name = 'format-4.ipynb';
  await page.contents.uploadContent(formatFixture(4), 'text', `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  const panel = await openHints(page);
  await expect(panel.locator('.nb2pipe-status')).toContainText('finding', { timeout: 30000 });
  // an untagged notebook has no chips (no pipeline yet)
  await expect(page.locator('.jp-NotebookPanel:visible .nb2pipe-step-chip')).toHaveCount(0);
  // the cell's context menu sets its step
  await page.notebook.selectCells(3);
  await page.locator('.jp-NotebookPanel:visible .jp-Cell').nth(3).click({ button: 'right' });
  await page.locator('.lm-Menu-item', { hasText: 'Set the Pipeline Step of the Cell…' }).click();
  await page.locator('.jp-Dialog .nb2pipe-step-role').selectOption('step');
  await page.locator('.jp-Dialog .nb2pipe-step-name').fill('compute');
  await page.locator('.jp-Dialog .jp-mod-accept').click();
  // now tagged: every code cell has its chip, on the right cells although no cell has an id
  const chips = page.locator('.jp-NotebookPanel:visible .jp-Cell .nb2pipe-step-chip');
  await expect(chips).toHaveCount(3, { timeout: 20000 });
  await expect(chips.nth(0)).toHaveText('no step');
  await expect(chips.nth(1)).toHaveText('compute');
  await expect(chips.nth(2)).toHaveText('compute');
  await expect(chips.nth(2)).toHaveClass(/nb2pipe-step-chip-joined/);
  await page.notebook.save();
  const reply = await page.request.get(`/api/contents/${tmpPath}/${name}?content=1&type=file&format=text`);
  const saved = JSON.parse((await reply.json()).content);
  expect(saved.cells.length).toBe(5);
  expect(saved.cells[3].metadata.tags).toEqual(['step:compute']);
  expect(saved.cells.map((c: any) => (c.outputs ?? []).length)).toEqual([0, 1, 0, 1, 1]);
});

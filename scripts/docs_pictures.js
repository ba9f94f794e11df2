// The pictures of docs/level1.md, taken in Chromium (see scripts/docs_pictures.sh).
const { chromium } = require('@playwright/test');

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ['--no-sandbox']
  });
  const page = await browser.newPage({ viewport: { width: 1440, height: 640 } });

  // MLflow's registry: the model's versions, aliases and source runs
  await page.goto(`${process.env.MLFLOW_URL}/#/models/churn-level0`);
  await page.getByText('champion', { exact: false }).first().waitFor({ timeout: 60000 });
  await page.waitForTimeout(1500);
  // the assistant's side panel, open by default, is not what the picture is about
  const close = page.locator('[aria-label="Close"], [aria-label="close"]').last();
  if (await close.count()) {
    await close.click().catch(() => {});
    await page.waitForTimeout(500);
  }
  await page.screenshot({ path: 'docs/level1-registry.png' });

  // the drift report of the run that new data stopped
  await page.setViewportSize({ width: 1100, height: 760 });
  await page.goto(`file://${process.env.REPORT}`);
  await page.screenshot({ path: 'docs/level1-drift.png', fullPage: true });
  await browser.close();
})().catch(error => {
  console.error(error);
  process.exit(1);
});

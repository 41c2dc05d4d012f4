import type { Locator, Page } from 'playwright-core';

/** The board page of one user, by what a person sees on it: columns by name, cards by title. */
export class BoardPage {
  constructor(readonly page: Page) {}

  column(name: string): Locator {
    return this.page.getByRole('region', { name, exact: true });
  }

  /** A card anywhere on the board (its focusable, draggable element). */
  card(title: string): Locator {
    return this.page.locator('li.card', { has: this.page.getByText(title, { exact: true }) });
  }

  /** A card in one column. */
  cardIn(column: string, title: string): Locator {
    return this.column(column).locator('li.card', { has: this.page.getByText(title, { exact: true }) });
  }

  /** The connection state the header shows (`live`, `reconnecting`, …). */
  state(): Promise<string | null> {
    return this.page.locator('.connection').getAttribute('data-state');
  }

  /** Starts keeping every connection state the header shows from now on (see `recordedStates`). */
  async recordStates(): Promise<void> {
    await this.page.evaluate(() => {
      const states: string[] = [];
      (window as unknown as { states: string[] }).states = states;
      new MutationObserver(() => {
        const state = document.querySelector('.connection')?.getAttribute('data-state');
        if (state && states[states.length - 1] !== state) states.push(state);
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
    });
  }

  recordedStates(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { states: string[] }).states);
  }

  async waitLive(): Promise<void> {
    await this.page.locator('.connection[data-state="live"]').waitFor();
  }

  /** What dnd-kit last said to screen readers about the drag. */
  announcement(): Locator {
    return this.page.locator('[id^="DndLiveRegion"]');
  }

  /**
   * Moves a card one column to the right (or left) with the keyboard, as a keyboard user does:
   * focus it, Space, an arrow, Space. The sensor starts listening for arrows a moment after the
   * drag starts and measures the board meanwhile, so an arrow pressed at machine speed may come
   * too early; it is pressed again (a few times at most) until the card is over `toColumn`.
   */
  async moveWithKeyboard(title: string, direction: 'ArrowRight' | 'ArrowLeft', toColumn: string): Promise<void> {
    await this.card(title).focus();
    await this.page.keyboard.press('Space');
    await this.page.locator('.card-overlay').waitFor();
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press(direction);
      const over = this.announcement()
        .filter({ hasText: `in column ${toColumn}.` })
        .or(this.announcement().filter({ hasText: `over column ${toColumn}.` }));
      const arrived = await over.waitFor({ timeout: 1500 }).then(
        () => true,
        () => false,
      );
      if (arrived) break;
      if (attempt === 5) throw new Error(`"${title}" never got over ${toColumn}: ${await this.announcement().innerText()}`);
    }
    await this.page.keyboard.press('Space');
    await this.page.locator('.card-overlay').waitFor({ state: 'detached' });
  }

  /** Drags a card with the mouse onto a column's list, in steps, as a hand would. */
  async dragWithMouse(title: string, toColumn: string): Promise<void> {
    const from = (await this.card(title).boundingBox())!;
    const to = (await this.column(toColumn).locator('.card-list').boundingBox())!;
    const mouse = this.page.mouse;
    await mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await mouse.down();
    await mouse.move(from.x + from.width / 2 + 12, from.y + from.height / 2, { steps: 3 }); // past the activation distance
    await this.page.locator('.card-overlay').waitFor();
    await mouse.move(to.x + to.width / 2, to.y + to.height - 8, { steps: 12 });
    await mouse.up();
    await this.page.locator('.card-overlay').waitFor({ state: 'detached' });
  }

  /**
   * Drags a card with a finger, on a page with touch: touches it, holds still until the drag
   * starts (the board waits a moment first, so that a finger that moves at once scrolls), slides
   * it over `onto` (another card) in steps and lifts it there.
   */
  async dragWithFinger(title: string, onto: string): Promise<void> {
    await this.settled();
    const from = centre((await this.card(title).boundingBox())!);
    const to = centre((await this.card(onto).boundingBox())!);
    await this.withFinger(async (finger) => {
      await finger('touchStart', from);
      await this.page.locator('.card-overlay').waitFor();
      for (let step = 1; step <= 10; step++)
        await finger('touchMove', { x: from.x + ((to.x - from.x) * step) / 10, y: from.y + ((to.y - from.y) * step) / 10 });
      await finger('touchEnd');
    });
    await this.page.locator('.card-overlay').waitFor({ state: 'detached' });
  }

  /** Swipes a finger sideways from a card's middle, at once (no hold), as one scrolls the columns. */
  async swipe(title: string, dx: number): Promise<void> {
    await this.settled();
    const from = centre((await this.card(title).boundingBox())!);
    await this.withFinger(async (finger) => {
      await finger('touchStart', from);
      for (let step = 1; step <= 10; step++) await finger('touchMove', { x: from.x + (dx * step) / 10, y: from.y });
      await finger('touchEnd');
    });
  }

  /**
   * Waits for the board's bar to be whole, the people on the board shown in it: on a phone the list
   * takes a line of its own as it arrives, moving the cards down, and a finger put where a card was
   * measured before then touches the gap between two.
   */
  private async settled(): Promise<void> {
    await this.page.locator('.presence li').first().waitFor();
  }

  /** Touch input through Chromium's DevTools protocol: playwright's own touchscreen only taps. */
  private async withFinger(gesture: (finger: Finger) => Promise<void>): Promise<void> {
    const cdp = await this.page.context().newCDPSession(this.page);
    try {
      await gesture(async (type, at) => {
        await cdp.send('Input.dispatchTouchEvent', { type, touchPoints: at ? [{ ...at, id: 1 }] : [] });
      });
    } finally {
      await cdp.detach();
    }
  }
}

type Point = { x: number; y: number };
type Finger = (type: 'touchStart' | 'touchMove' | 'touchEnd', at?: Point) => Promise<void>;

const centre = (box: { x: number; y: number; width: number; height: number }): Point => ({
  x: box.x + box.width / 2,
  y: box.y + box.height / 2,
});

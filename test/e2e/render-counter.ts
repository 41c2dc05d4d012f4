import type { Page } from 'playwright-core';

/**
 * Counts the renders of each card (`li.card`'s component, by its `data-task-id`) in a page, from the
 * outside: a stand-in for the React DevTools hook, installed before the page loads, is told of every
 * commit (the production build calls it too), and walks the committed tree. A card's component
 * rendered in a commit when its fiber did work (PerformedWork) with a new hook list; a memoized card
 * that bailed out did no work, and one in a skipped subtree keeps the hook list it had. Nothing is
 * added to the app.
 */
export async function countCardRenders(page: Page): Promise<void> {
  await page.addInitScript(() => {
    interface Fiber {
      child: Fiber | null;
      sibling: Fiber | null;
      return: Fiber | null;
      flags: number;
      memoizedState: unknown;
      memoizedProps: Record<string, unknown> | null;
      stateNode: unknown;
    }
    const renders: Record<string, number> = {};
    const seen = new WeakMap<Fiber, unknown>();
    const PERFORMED_WORK = 1;
    (window as unknown as { cardRenders: Record<string, number> }).cardRenders = renders;
    (window as unknown as { __REACT_DEVTOOLS_GLOBAL_HOOK__: unknown }).__REACT_DEVTOOLS_GLOBAL_HOOK__ = {
      isDisabled: false,
      supportsFiber: true,
      renderers: new Map(),
      inject: () => 1,
      checkDCE: () => undefined,
      onCommitFiberUnmount: () => undefined,
      onPostCommitFiberRoot: () => undefined,
      onCommitFiberRoot(_id: number, root: { current: Fiber }) {
        const stack: Fiber[] = [root.current];
        while (stack.length) {
          const fiber = stack.pop()!;
          if (fiber.child) stack.push(fiber.child);
          if (fiber.sibling) stack.push(fiber.sibling);
          const node = fiber.stateNode;
          if (!(node instanceof HTMLLIElement) || !node.classList.contains('card') || node.closest('.card-overlay')) continue;
          const card = fiber.return;
          const taskId = String(fiber.memoizedProps?.['data-task-id']);
          if (!card || seen.get(card) === card.memoizedState) continue;
          seen.set(card, card.memoizedState);
          if (card.flags & PERFORMED_WORK) renders[taskId] = (renders[taskId] ?? 0) + 1;
        }
      },
    };
  });
}

/** Task id → how many times its card rendered since the last call (then starts again from zero). */
export function takeCardRenders(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const renders = (window as unknown as { cardRenders: Record<string, number> }).cardRenders;
    const taken = { ...renders };
    for (const key of Object.keys(renders)) delete renders[key];
    return taken;
  });
}

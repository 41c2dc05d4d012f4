import { useEffect, useRef } from 'react';

/**
 * A screen's heading. It names the page (`document.title`), and takes the focus as the screen
 * opens, so that a screen reader says which screen it now is and Tab goes on from there (after a
 * link's navigation the focus stayed on the link, or fell to the page's start).
 */
export function ScreenHeading({
  children,
  id,
  className,
  level = 1,
}: {
  children: string;
  id?: string;
  className?: string;
  /** 2 under a brand's `h1` (the sign-in screens). */
  level?: 1 | 2;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  const Tag = level === 1 ? 'h1' : 'h2';
  useEffect(() => {
    document.title = `${children} · TaskFlow`;
  }, [children]);
  useEffect(() => heading.current?.focus({ preventScroll: true }), []);
  return (
    <Tag ref={heading} id={id} className={className} tabIndex={-1}>
      {children}
    </Tag>
  );
}

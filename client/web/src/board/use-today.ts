import { useEffect, useState } from 'react';
import { today } from './board-view.js';

/**
 * Today (`today()`), which turns at the viewer's midnight: a board left open overnight marks the
 * cards due yesterday as overdue though nothing on it changed (its cards re-render only on change).
 */
export function useToday(): string {
  const [day, setDay] = useState(today);
  useEffect(() => {
    const now = new Date();
    const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
    const timer = setTimeout(() => setDay(today()), midnight.getTime() - now.getTime() + 1000);
    return () => clearTimeout(timer);
  }, [day]);
  return day;
}

import { useCallback, useEffect, useState } from 'react';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload(): void;
}

/** Loads `load()` when `key` changes (and on `reload`), keeping the last answer while it reloads. */
export function useResource<T>(key: string | null, load: () => Promise<T>): Resource<T> {
  const [state, setState] = useState<{ key: string | null; data?: T; error?: Error; loading: boolean }>({ key, loading: key !== null });
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (key === null) return;
    let current = true;
    setState((previous) => ({ key, data: previous.key === key ? previous.data : undefined, loading: true }));
    load().then(
      (data) => current && setState({ key, data, loading: false }),
      (error: Error) => current && setState({ key, error, loading: false }),
    );
    return () => {
      current = false;
    };
    // `load` is a new function at every render; `key` says when it asks for something else.
  }, [key, generation]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  const fresh = state.key === key;
  return { data: fresh ? state.data : undefined, error: fresh ? state.error : undefined, loading: !fresh || state.loading, reload };
}

/** Bounded parallelism without a dependency: one queue, at most `limit` tasks running. */

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface Limiter {
    run<T>(task: () => Promise<T>): Promise<T>;
}

export function createLimiter(limit: number): Limiter {
    let active = 0;
    const waiting: Array<() => void> = [];
    return {
        async run<T>(task: () => Promise<T>): Promise<T> {
            // A finishing task hands its slot straight to the next waiter, so a caller arriving
            // in between can never push the count over the limit.
            if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
            else active++;
            try {
                return await task();
            } finally {
                const next = waiting.shift();
                if (next) next();
                else active--;
            }
        },
    };
}

/**
 * Runs `fn` over every item with at most `limit` at once and waits for ALL of them: one
 * failing item never hides what happened to the others.
 */
export async function mapSettled<I, T>(items: readonly I[], limit: number, fn: (item: I) => Promise<T>): Promise<Settled<T>[]> {
    const limiter = createLimiter(limit);
    return Promise.all(
        items.map((item) =>
            limiter.run(() => fn(item)).then(
                (value): Settled<T> => ({ ok: true, value }),
                (error: unknown): Settled<T> => ({ ok: false, error }),
            ),
        ),
    );
}

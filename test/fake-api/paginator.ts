/** Laravel's LengthAwarePaginator, serialised as the API sends it in `data`. */

export interface PageLink {
  readonly url: string | null;
  readonly label: string;
  readonly active: boolean;
}

export interface LaravelPage<T> {
  readonly current_page: number;
  readonly data: T[];
  readonly first_page_url: string;
  readonly from: number | null;
  readonly last_page: number;
  readonly last_page_url: string;
  readonly links: PageLink[];
  readonly next_page_url: string | null;
  readonly path: string;
  readonly per_page: number;
  readonly prev_page_url: string | null;
  readonly to: number | null;
  readonly total: number;
}

/** Pages shown either side of the current one in `links` (Laravel's onEachSide default). */
const ON_EACH_SIDE = 3;

/**
 * Page `page` (1-based; past the end gives an empty page) of `items`, `perPage` at a time.
 * `path` is the absolute endpoint URL; page URLs are `${path}?page=N`.
 */
export function paginate<T>(items: readonly T[], page: number, perPage: number, path: string): LaravelPage<T> {
  const total = items.length;
  const lastPage = Math.max(1, Math.ceil(total / perPage));
  const offset = (page - 1) * perPage;
  const data = items.slice(offset, offset + perPage);
  const url = (n: number): string => `${path}?page=${n}`;
  const prev = page > 1 ? url(page - 1) : null;
  const next = page < lastPage ? url(page + 1) : null;

  const shown = new Set<number>([1, 2, lastPage - 1, lastPage]);
  for (let n = page - ON_EACH_SIDE; n <= page + ON_EACH_SIDE; n += 1) shown.add(n);
  const numbers = [...shown].filter((n) => n >= 1 && n <= lastPage).sort((a, b) => a - b);
  const links: PageLink[] = [{ url: prev, label: '&laquo; Previous', active: false }];
  numbers.forEach((n, index) => {
    const before = numbers[index - 1];
    if (before !== undefined && n - before > 1) links.push({ url: null, label: '...', active: false });
    links.push({ url: url(n), label: String(n), active: n === page });
  });
  links.push({ url: next, label: 'Next &raquo;', active: false });

  return {
    current_page: page,
    data,
    first_page_url: url(1),
    from: data.length > 0 ? offset + 1 : null,
    last_page: lastPage,
    last_page_url: url(lastPage),
    links,
    next_page_url: next,
    path,
    per_page: perPage,
    prev_page_url: prev,
    to: data.length > 0 ? offset + data.length : null,
    total,
  };
}

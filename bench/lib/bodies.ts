/** Response bodies the micro-benchmarks parse. */

/** `count` visits in the envelope, ~300 bytes each: ASCII mostly, some é/“”/emoji, escapes and nulls. */
export function makeBody(count: number): Buffer {
  let seed = 42;
  const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const stamp = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  const parts: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const at = Date.UTC(2026, 0, 1) + i * 1000;
    parts.push(
      JSON.stringify({
        id: 1_000_000 + i,
        session_id: 50_000 + Math.floor(i / 7),
        created_at: stamp(at),
        url: `https://www.example.com/shop/category-${Math.floor(random() * 100)}/product-${Math.floor(random() * 100_000)}?utm_source=news&utm_medium=email`,
        title: random() < 0.1 ? `Café “Special” \\ "quoted" 😀 page ${i}` : `Product page ${i} – Example Shop`,
        referrer: random() < 0.4 ? null : `https://www.google.com/search?q=term+${i}`,
        time_spend: Math.floor(random() * 600),
        updated_at: stamp(at + 5000),
      }),
    );
  }
  return Buffer.from(`{"error": false, "data": [${parts.join(',')}]}`);
}

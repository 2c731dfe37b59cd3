import path from 'node:path';

export interface Refusal {
  action: 'refuse';
  source: string;
  destination: string;
  message: string;
}

/**
 * Keys that land on one local path (`a//b` and `a/b`), or a key whose path is
 * also a directory another key needs (`a/b` and `a/b/c`): copying them would
 * silently keep one and lose the other, so none of them is copied and each is
 * an error naming the other. Pure: table-tested.
 */
export function refuseCollisions<T extends { target: string }>(
  items: readonly T[],
  name: (item: T) => string,
): { unique: T[]; collisions: Refusal[] } {
  const byTarget = new Map<string, T[]>();
  for (const item of items) {
    const same = byTarget.get(item.target);
    if (same) same.push(item);
    else byTarget.set(item.target, [item]);
  }
  // Every directory some target needs, with one item that needs it.
  const dirs = new Map<string, T>();
  for (const [target, group] of byTarget) {
    for (let d = path.dirname(target); !dirs.has(d) && d !== path.dirname(d); d = path.dirname(d)) dirs.set(d, group[0]!);
  }
  const unique: T[] = [];
  const collisions: Refusal[] = [];
  const refuse = (item: T, message: string) =>
    collisions.push({ action: 'refuse', source: name(item), destination: item.target, message });
  for (const [target, group] of byTarget) {
    const under = dirs.get(target);
    if (group.length > 1) {
      for (const item of group) {
        const others = group.filter((g) => g !== item).map(name).join(', ');
        refuse(item, `${name(item)} and ${others} map to the same local path ${target}; none of them was copied: rename one, or copy them one by one`);
      }
    } else if (under) {
      const item = group[0]!;
      refuse(item, `${name(item)} maps to ${target}, which ${name(under)} needs as a directory; it was not copied: rename one of them`);
    } else {
      unique.push(group[0]!);
    }
  }
  return { unique, collisions };
}

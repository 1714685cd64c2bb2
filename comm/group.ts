/**
 * Process groups, as MPI's: an ordered set of ranks. A communicator's `group` lists its
 * members; include/exclude/union/intersection/difference build new groups, and
 * `comm.create(group)` makes a communicator of one.
 */
import { ArgumentError } from '../util/errors.js';
import { UNDEFINED } from './request.js';

export class Group {
  /** @internal World (transport) ranks of the members, in group order. */
  readonly members: readonly number[];
  /** @internal This process's world rank. */
  readonly self: number;

  /** @internal */
  constructor(members: readonly number[], self: number) {
    this.members = members;
    this.self = self;
  }

  /** Number of members. */
  get size(): number {
    return this.members.length;
  }

  /** This process's rank in the group, or UNDEFINED if it is not a member. */
  get rank(): number {
    const i = this.members.indexOf(this.self);
    return i < 0 ? UNDEFINED : i;
  }

  /** The group of members `ranks` (ranks of this group), in that order. */
  include(ranks: readonly number[]): Group {
    this.checkRanks(ranks, 'ranks');
    return new Group(ranks.map((r) => this.members[r]!), this.self);
  }

  /** This group without members `ranks` (ranks of this group), in the remaining order. */
  exclude(ranks: readonly number[]): Group {
    this.checkRanks(ranks, 'ranks');
    const drop = new Set(ranks);
    return new Group(this.members.filter((_, i) => !drop.has(i)), this.self);
  }

  /** Members of this group, then those of `other` not in it. */
  union(other: Group): Group {
    const mine = new Set(this.members);
    return new Group([...this.members, ...other.members.filter((m) => !mine.has(m))], this.self);
  }

  /** Members of this group that are also in `other`, in this group's order. */
  intersection(other: Group): Group {
    const theirs = new Set(other.members);
    return new Group(this.members.filter((m) => theirs.has(m)), this.self);
  }

  /** Members of this group not in `other`. */
  difference(other: Group): Group {
    const theirs = new Set(other.members);
    return new Group(this.members.filter((m) => !theirs.has(m)), this.self);
  }

  /** Ranks in `other` of the processes at `ranks` in this group (UNDEFINED if absent). */
  translateRanks(ranks: readonly number[], other: Group): number[] {
    this.checkRanks(ranks, 'ranks');
    return ranks.map((r) => {
      const i = other.members.indexOf(this.members[r]!);
      return i < 0 ? UNDEFINED : i;
    });
  }

  private checkRanks(ranks: readonly number[], argument: string): void {
    const ok = Array.isArray(ranks) && ranks.every((r) => Number.isInteger(r) && r >= 0 && r < this.size) && new Set(ranks).size === ranks.length;
    if (!ok) throw new ArgumentError(argument, `an array of distinct ranks in 0..${this.size - 1}`, ranks);
  }
}

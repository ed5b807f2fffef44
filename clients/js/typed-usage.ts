// What a TypeScript UI writes against the generated types (codegen.yml), checked with
// `tsc --strict`: relations that always exist need no `?.`, money and times are strings.
import type {
  ContactListQuery,
  DealBoardQuery,
  FunnelByOwnerQuery,
  MoveDealMutationVariables,
} from './generated/graphql';

export function contactLines(data: ContactListQuery): string[] {
  return data.contacts.nodes.map((c) => `${c.fullName} (${c.owner.name}) cost ${c.acquisitionCost}`);
}

export function boardColumns(data: DealBoardQuery): Map<string, string[]> {
  const columns = new Map<string, string[]>();
  for (const deal of data.deals.nodes) {
    const amount: string = deal.amount;
    const since: string = deal.stageEnteredAt;
    const column = columns.get(deal.stage.name) ?? [];
    column.push(`${deal.title}: ${amount} since ${since} in ${deal.pipeline.name}, ${deal.owner.name}`);
    columns.set(deal.stage.name, column);
  }
  return columns;
}

export function periods(data: FunnelByOwnerQuery): string[] {
  return data.funnel.groups.flatMap((owner) =>
    owner.groups.map((month) => `${owner.group?.owner?.name}: ${month.group?.periodStart ?? 'all'}`),
  );
}

export const move: MoveDealMutationVariables = { input: { id: 'RGVhbDox', version: 1, stageId: 'U3RhZ2U6Mg' } };

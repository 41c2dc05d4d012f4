/** Who a user id is, for the settings sections that name people: a member's name, or "a former member"; "…" until the members are read. */
export type NameOf = (userId: string) => string;

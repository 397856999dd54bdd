// `gatehouse/resource-server` is the `@gatehouse/resource-server` package: one copy of the
// library, so its classes (BearerError…) are the same whichever name an application imports.
export * from '@gatehouse/resource-server';

export * from '@gatehouse/resource-server';

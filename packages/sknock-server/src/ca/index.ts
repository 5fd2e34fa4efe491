export const CA_PLACEHOLDER = true;

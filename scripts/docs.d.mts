export const START: string;
export const END: string;
export function renderReference(actionText: string): string;
export function updateReadme(readme: string, actionText: string): string;

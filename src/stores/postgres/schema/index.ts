// The whole data model, split by domain; drizzle-kit reads this file (drizzle.config.ts).
export * from "./api-keys";
export * from "./boards";
export * from "./events";
export * from "./job-runs";
export * from "./moderation";
export * from "./object-repairs";
export * from "./players";
export * from "./rank-reloads";
export * from "./rank-resync";
export * from "./rollups";
export * from "./score-buckets";
export * from "./score-rejections";
export * from "./scores";
export * from "./tournaments";

/** The Wemasy Analytics endpoints the tap reads (contract: ../shared/api/wemasy-analytics.md). */
export const SESSIONS_PATH = '/services/analytics/v1/project/sessions';
export const VISITS_PATH = '/services/analytics/v1/sessions/get-visits';
export const CONVERSIONS_PATH = '/services/analytics/v1/sessions/get-conversions';

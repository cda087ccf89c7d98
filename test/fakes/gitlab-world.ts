/** The GitLab runner world lives in bench/worlds so `npm run bench` can use it too (the image build leaves test/ out). */
export * from '../../bench/worlds/gitlab-world';
